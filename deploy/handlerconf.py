#!/usr/bin/python3
"""deploy/handlerconf.py -- the one reader of handler folders and their handler.conf.

Every tool that needs to know what a handler folder declares reads it here, so that a
rule lives in one place: the build (cmake/handlers.cmake runs `handlerconf.py json` and
reads handler.conf through it alone; a refusal here fails the configuration),
deploy/render (imports it), scripts/new-handler (`handlerconf.py check-name`), the
role (deploy/role writes db/role.sql) and the Hasura metadata.  A mistake is refused here, naming the
file, the line and what to write instead, before it can become a wrong row.

usage: deploy/handlerconf.py json [--root DIR]          every handler folder, as JSON
       deploy/handlerconf.py check-name NAME [--root DIR]  a new handler's name, or why not
       deploy/handlerconf.py limits                      the limits, as JSON

A handler is a folder handlers/<name>/ holding handler.c (a C handler) or update.sql
(a SQL-only handler, whose C the build generates).  Its handler.conf is `key = value`
lines; `#` starts a comment to the end of the line; the file is UTF-8; lines end at
"\\n" alone.  Every key is known here (a misspelt key is an error), each is given once
except `grant`, which may repeat:

  deploy   = all | pr | none     stages that get the handler (default all)
  database = yes | no            whether its function connects to PostgreSQL (default yes)

  SQL-only handlers (required there, refused in a C handler's file):
  table    = [schema.]table      the table whose row the handler recomputes
  key      = column              its key: event.data.new.<key> is $1
  value    = column              the column update.sql writes
  lock     = row | none          lock the row first (default row; lock.sql replaces it)

  The Hasura event trigger that sends the handler its events:
  trigger              = name                 Hasura's trigger name
  trigger_table        = [schema.]table       default: table
  trigger_insert       = * | none | col, col  default *
  trigger_update       = * | none | col, col  default none
  trigger_delete       = yes | no             default no
  trigger_manual       = yes | no             default no
  trigger_retries      = N                    default 0
  trigger_interval_sec = N                    default 10
  trigger_timeout_sec  = N                    default 60

  The grants its database role needs beyond the implicit ones (a SQL-only handler
  implicitly gets SELECT on its table and UPDATE (value) on it), SQL's own words:
  grant = SELECT ON table[, table...]
  grant = SELECT (col, col) ON table
  grant = UPDATE (col, col) ON table
  grant = INSERT ON table
  grant = EXECUTE ON FUNCTION name(argtype, ...)[, name(...)...]

Identifiers are written as PostgreSQL stores them: lower-case letters, digits and _,
starting with a letter or _, at most 63 bytes.  Every tool that writes one into SQL
quotes it.
"""
import json
import os
import re
import sys

PREFIX = "atd-vz-data-events-"
HANDLER_RE = re.compile(r"^[a-z][a-z0-9_]*$")
IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
# PostgreSQL keeps NAMEDATALEN - 1 bytes of an identifier and silently cuts the rest.
PG_MAX_IDENT = 63
# Names that are never handlers: the stage's own functions and queue, and the runtime's default handler.
RESERVED_NAMES = {
    "deadletter": "the stage's dead-letter queue",
    "reconcile": "the stage's scheduled reconcile function",
    "endpoint": "the environment's /events/ endpoint function",
    "bootstrap": "the runtime's entry point",
}
# Segments that would make "<handler>_<stage>" read two ways.
STAGE_WORDS = ("pr", "staging", "production", "local")
LONGEST_STAGE_SUFFIX = len("_pr_") + 7  # pr_<N>, N of at most 7 digits
MAX_FUNCTION_NAME = 64  # Lambda
# The one limit on a handler's name: its longest function name, atd-vz-data-events-<name>_pr_NNNNNNN, fits
# Lambda's 64 characters.  Every other name derived from a handler (queues: 80; CloudFormation logical
# ids) is shorter, so this bound is the only one.  Prepared statements are named by src/db.c itself
# (vz<N>_..., cut to PostgreSQL's 63 bytes, unique whatever the handler's name), so they set no limit.
MAX_HANDLER_NAME = MAX_FUNCTION_NAME - len(PREFIX) - LONGEST_STAGE_SUFFIX  # 34
# Hasura refuses event trigger names longer than 42 characters (its trigger functions' names).
MAX_TRIGGER_NAME = 42
TRIGGER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")

# Logical ids of a stage's shared resources and outputs (deploy/render): a handler's derived ids
# (logical(name) + one of HANDLER_SUFFIXES) must not meet them.
SHARED_IDS = ("CodeS3Bucket", "CodeS3Key", "SubnetIds", "SecurityGroupIds", "DeadLetterQueue", "AlarmTopic",
              "DeadLetterAlarm", "EndpointLogGroup", "EndpointRole", "EndpointFunction", "EndpointUrl",
              "EndpointUrlPermission", "EndpointInvokePermission", "EndpointErrorsAlarm", "Endpoint403Alarm",
              "Endpoint503Alarm", "ReconcileLogGroup", "ReconcileRole", "ReconcileFunction", "ReconcileSchedule",
              "ReconcileSchedulePermission", "ReconcileErrorsAlarm", "WebhookUrl", "EndpointFunctionName",
              "AlarmTopicArn", "DeadLetterQueueUrl", "ReconcileFunctionName")
HANDLER_SUFFIXES = ("Queue", "LogGroup", "Role", "Function", "EventSourceMapping", "ErrorsAlarm", "DriftAlarm",
                    "QueueUrl", "FunctionArn")

DEPLOY_MODES = ("all", "pr", "none")
YES_NO = ("yes", "no")
SQL_KEYS = ("table", "key", "value", "lock")
TRIGGER_KEYS = ("trigger", "trigger_table", "trigger_insert", "trigger_update", "trigger_delete",
                "trigger_manual", "trigger_retries", "trigger_interval_sec", "trigger_timeout_sec")
KNOWN_KEYS = ("deploy", "database") + SQL_KEYS + TRIGGER_KEYS + ("grant",)
REPEATABLE = ("grant",)
TRIGGER_DEFAULTS = {"trigger_insert": "*", "trigger_update": "none", "trigger_delete": "no",
                    "trigger_manual": "no", "trigger_retries": "0", "trigger_interval_sec": "10",
                    "trigger_timeout_sec": "60"}


class ConfError(Exception):
    """A mistake in a handler folder: the message names the file and what to change."""


def _fail(msg):
    raise ConfError(msg)


def check_ident(where, what, v, qualified=False):
    """An identifier as PostgreSQL stores it (optionally schema.name); returns it or raises ConfError."""
    parts = v.split(".") if qualified else [v]
    if qualified and len(parts) > 2:
        _fail("%s: %s %r: expected table or schema.table" % (where, what, v))
    for p in parts:
        if not IDENT_RE.match(p):
            hint = ""
            if IDENT_RE.match(p.lower()):
                hint = " (write it as PostgreSQL stores an unquoted name: %s)" % p.lower()
            _fail("%s: %s %r is not a name of lower-case letters, digits and _ starting with a letter or _%s"
                  % (where, what, v, hint))
        if len(p.encode()) > PG_MAX_IDENT:
            _fail("%s: %s %r: %d bytes, PostgreSQL keeps only %d and would cut it silently"
                  % (where, what, v, len(p.encode()), PG_MAX_IDENT))
    return v


def quote_ident(v):
    """The identifier (or schema.name) quoted for SQL: "a"."b"."""
    return ".".join('"%s"' % p.replace('"', '""') for p in v.split("."))


def read_conf(path):
    """handler.conf as {key: [(value, line)]}; raises ConfError naming path:line on any malformed line."""
    conf = {}
    if not os.path.isfile(path):
        return conf
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _fail("%s: not UTF-8 (byte %d): save it as UTF-8" % (path, e.start))
    # Lines end at \n alone: str.splitlines() would also break at U+2028, U+0085 and friends, which
    # may sit in a comment.
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r").split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
        if not m:
            _fail("%s:%d: expected `key = value`, got %r" % (path, n, line))
        k, v = m.group(1), m.group(2).strip()
        if k not in KNOWN_KEYS:
            _fail("%s:%d: unknown key %r (known: %s)" % (path, n, k, ", ".join(KNOWN_KEYS)))
        if k in conf and k not in REPEATABLE:
            _fail("%s:%d: %s is given twice (first on line %d): keep one" % (path, n, k, conf[k][0][1]))
        if v == "":
            _fail("%s:%d: %s has no value" % (path, n, k))
        conf.setdefault(k, []).append((v, n))
    return conf


def _one(conf, k, default=None):
    return conf[k][0][0] if k in conf else default


def _line(conf, k):
    return conf[k][0][1] if k in conf else 0


def _columns(where, what, v):
    """`*`, `none` or a comma-separated list of column names."""
    if v in ("*", "none"):
        return v
    cols = [c.strip() for c in v.split(",")]
    for c in cols:
        check_ident(where, what + " column", c)
    if len(set(cols)) != len(cols):
        _fail("%s: %s names a column twice" % (where, what))
    return cols


def _whole(where, what, v, lo, hi):
    if not re.match(r"^[0-9]+$", v) or not lo <= int(v) <= hi:
        _fail("%s: %s = %s: expected a whole number from %d to %d" % (where, what, v, lo, hi))
    return int(v)


def parse_trigger(path, conf, table):
    """The trigger keys as a dict, or None when the folder declares no trigger."""
    present = [k for k in TRIGGER_KEYS if k in conf]
    if not present:
        return None
    if "trigger" not in conf:
        _fail("%s:%d: %s without `trigger = NAME` (Hasura's name of the trigger)" % (path, _line(conf, present[0]),
                                                                                     present[0]))

    def at(k):
        return "%s:%d" % (path, _line(conf, k)) if k in conf else path

    name = _one(conf, "trigger")
    if not TRIGGER_NAME_RE.match(name) or len(name) > MAX_TRIGGER_NAME:
        _fail("%s: trigger %r: Hasura takes letters, digits, _ and - , at most %d characters"
              % (at("trigger"), name, MAX_TRIGGER_NAME))
    ttable = _one(conf, "trigger_table", table)
    if not ttable:
        _fail("%s: `trigger_table = TABLE` is missing (the table whose changes fire the trigger)" % at("trigger"))
    check_ident(at("trigger_table"), "trigger_table", ttable, qualified=True)
    v = {k: _one(conf, k, TRIGGER_DEFAULTS.get(k)) for k in TRIGGER_KEYS}
    ins = _columns(at("trigger_insert"), "trigger_insert", v["trigger_insert"])
    upd = _columns(at("trigger_update"), "trigger_update", v["trigger_update"])
    for k in ("trigger_delete", "trigger_manual"):
        if v[k] not in YES_NO:
            _fail("%s: %s = %s: expected yes or no" % (at(k), k, v[k]))
    if ins == "none" and upd == "none" and v["trigger_delete"] == "no" and v["trigger_manual"] == "no":
        _fail("%s: trigger %s fires on nothing: set trigger_insert, trigger_update, trigger_delete or "
              "trigger_manual" % (at("trigger"), name))
    schema, _, tname = ttable.rpartition(".")
    return {
        "name": name,
        "schema": schema or "public",
        "table": tname,
        "insert": ins,
        "update": upd,
        "delete": v["trigger_delete"] == "yes",
        "manual": v["trigger_manual"] == "yes",
        "num_retries": _whole(at("trigger_retries"), "trigger_retries", v["trigger_retries"], 0, 100),
        "interval_sec": _whole(at("trigger_interval_sec"), "trigger_interval_sec", v["trigger_interval_sec"], 1,
                               86400),
        "timeout_sec": _whole(at("trigger_timeout_sec"), "trigger_timeout_sec", v["trigger_timeout_sec"], 1, 86400),
        # Where each key was read, "file:line" (the file alone for a default), for later checks' messages.
        # trigger_table defaults to `table`: its line then.
        "where": dict({k: at(k) for k in TRIGGER_KEYS},
                      trigger_table=at("trigger_table" if "trigger_table" in conf else "table")),
    }


GRANT_TABLE_RE = re.compile(r"^(SELECT|INSERT|UPDATE)\s*(?:\(([^)]*)\))?\s+ON\s+(?:TABLE\s+)?(.+)$", re.I)
GRANT_FUNC_RE = re.compile(r"^EXECUTE\s+ON\s+FUNCTION\s+(.+)$", re.I)
FUNC_RE = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?)\s*\(([^()]*)\)$")
ARGTYPE_RE = re.compile(r"^[a-z_][a-z0-9_ ]*(\[\])?$")


def _split_top(s):
    """Split at commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def parse_grant(where, v):
    """One `grant = ...` line as a list of {"privilege", "columns", "object", "kind"} (one per object)."""
    m = GRANT_FUNC_RE.match(v)
    if m:
        out = []
        for f in _split_top(m.group(1)):
            fm = FUNC_RE.match(f)
            if not fm:
                _fail("%s: grant: %r is not a function with its argument types, e.g. find_x(integer)" % (where, f))
            check_ident(where, "function", fm.group(1), qualified=True)
            args = [a.strip() for a in fm.group(2).split(",")] if fm.group(2).strip() else []
            for a in args:
                if not ARGTYPE_RE.match(a):
                    _fail("%s: grant: argument type %r of %s is not a type name" % (where, a, fm.group(1)))
            out.append({"privilege": "EXECUTE", "columns": None, "kind": "function",
                        "object": "%s(%s)" % (fm.group(1), ", ".join(args)), "name": fm.group(1), "args": args})
        return out
    m = GRANT_TABLE_RE.match(v)
    if not m:
        _fail("%s: grant %r: expected `SELECT|INSERT|UPDATE [(col, ...)] ON table[, table]` or "
              "`EXECUTE ON FUNCTION name(argtype, ...)`" % (where, v))
    priv = m.group(1).upper()
    cols = None
    if m.group(2) is not None:
        cols = _columns(where, "grant " + priv, m.group(2).strip())
        if not isinstance(cols, list):
            _fail("%s: grant %s (...): name the columns" % (where, priv))
        if priv == "INSERT":
            _fail("%s: grant INSERT (columns): grant INSERT on the table" % where)
    out = []
    for t in _split_top(m.group(3)):
        check_ident(where, "grant table", t, qualified=True)
        out.append({"privilege": priv, "columns": cols, "kind": "table", "object": t, "name": t, "args": None})
    return out


def check_name(name, root=None, existing_ok=False):
    """Why a handler name is refused (a sentence), or None; root's handlers/ is checked for clashes."""
    if not HANDLER_RE.match(name):
        return "lower-case letters, digits and _, starting with a letter"
    if name.endswith("_"):
        return "it ends with _"
    if "__" in name:
        return "it holds __ (CloudFormation names drop the _: a__b and a_b would be one)"
    if name in RESERVED_NAMES:
        return "%s is reserved (%s)" % (name, RESERVED_NAMES[name])
    for w in STAGE_WORDS:
        if w in name.split("_"):
            return "the word %r would make the event name <handler>_<stage> read two ways" % w
    if len(name) > MAX_HANDLER_NAME:
        return ("%d characters: with %s and the longest stage suffix _pr_NNNNNNN the function name takes %d "
                "of Lambda's %d (at most %d here)" % (len(name), PREFIX, len(PREFIX) + len(name) + LONGEST_STAGE_SUFFIX,
                                                      MAX_FUNCTION_NAME, MAX_HANDLER_NAME))
    lid = logical(name)
    for suffix in HANDLER_SUFFIXES:
        if lid + suffix in SHARED_IDS:
            return "its CloudFormation name %s is one of the stage's own" % (lid + suffix)
    if root:
        hdir = os.path.join(root, "handlers")
        if os.path.isdir(hdir):
            for other in sorted(os.listdir(hdir)):
                if other != name and os.path.isdir(os.path.join(hdir, other)) and logical(other) == lid:
                    return "handlers/%s already gives the CloudFormation name %s" % (other, lid)
    return None


def logical(name, suffix=""):
    """The CloudFormation logical id derived from a handler name (a_b -> AB)."""
    return "".join(p.capitalize() for p in name.split("_")) + suffix


def is_handler_dir(d):
    return os.path.isfile(os.path.join(d, "handler.c")) or os.path.isfile(os.path.join(d, "update.sql"))


def read_folder(root, name):
    """One handler folder as a dict (see `json`); raises ConfError on any mistake."""
    d = os.path.join(root, "handlers", name)
    rel = "handlers/%s" % name
    why = check_name(name, root)
    if why:
        _fail("%s: the folder name is refused: %s; rename the folder" % (rel, why))
    kind = "c" if os.path.isfile(os.path.join(d, "handler.c")) else "sql"
    path = os.path.join(d, "handler.conf")
    relconf = rel + "/handler.conf"
    try:
        conf = read_conf(path)
    except ConfError as e:
        raise ConfError(str(e).replace(path, relconf))
    where = {k: "%s:%d" % (relconf, _line(conf, k)) for k in conf}
    mode = _one(conf, "deploy", "all")
    if mode not in DEPLOY_MODES:
        _fail("%s: deploy = %s: expected all, pr or none" % (where["deploy"], mode))
    db = _one(conf, "database", "yes")
    if db not in YES_NO:
        _fail("%s: database = %s: expected yes or no" % (where["database"], db))
    h = {"name": name, "dir": rel, "kind": kind, "deploy": mode, "database": db == "yes",
         "table": None, "key": None, "value": None, "lock": None,
         "has_lock_sql": os.path.isfile(os.path.join(d, "lock.sql"))}
    if kind == "sql":
        if not os.path.isfile(path):
            _fail("%s: a SQL-only handler (update.sql, no handler.c) needs %s with `table = ...`, `key = ...` "
                  "and `value = ...` (see docs/handlers.md)" % (rel, relconf))
        for k in ("table", "key", "value"):
            if k not in conf:
                _fail("%s: `%s = ...` is missing (a SQL-only handler declares table, key and value)" % (relconf, k))
        h["table"] = check_ident(where["table"], "table", _one(conf, "table"), qualified=True)
        h["key"] = check_ident(where["key"], "key", _one(conf, "key"))
        h["value"] = check_ident(where["value"], "value", _one(conf, "value"))
        lock = _one(conf, "lock", "row")
        if lock not in ("row", "none"):
            _fail("%s: lock %r is not `row` (the default) or `none`" % (where["lock"], lock))
        if lock == "none" and h["has_lock_sql"]:
            _fail("%s: `lock = none` but %s/lock.sql exists; remove one of them" % (where["lock"], rel))
        h["lock"] = lock
        if db == "no":
            _fail("%s: database = no, but a SQL-only handler works only in its database" % where["database"])
    else:
        for k in SQL_KEYS:
            if k in conf:
                _fail("%s: %s is a SQL-only handler's key (this folder has handler.c, whose C says it); remove it"
                      % (where[k], k))
    h["reconcilable"] = db == "yes" and (kind == "sql" or _c_has_rowsync(d))
    h["trigger"] = parse_trigger(relconf, conf, h["table"])
    grants = []
    if kind == "sql":
        grants.append({"privilege": "SELECT", "columns": None, "kind": "table", "object": h["table"],
                       "name": h["table"], "args": None, "implicit": True})
        grants.append({"privilege": "UPDATE", "columns": [h["value"]], "kind": "table", "object": h["table"],
                       "name": h["table"], "args": None, "implicit": True})
    for v, n in conf.get("grant", []):
        for g in parse_grant("%s:%d" % (relconf, n), v):
            g["implicit"] = False
            grants.append(g)
    if grants and db == "no":
        _fail("%s: database = no, but the file grants database privileges; remove one" % where["database"])
    h["grants"] = grants
    return h


def _c_has_rowsync(d):
    with open(os.path.join(d, "handler.c"), encoding="utf-8", errors="replace") as f:
        return re.search(r"\.rowsync\s*=", f.read()) is not None


def folders(root):
    """Every handler folder under root/handlers, sorted by name, as read_folder's dicts."""
    hdir = os.path.join(root, "handlers")
    found = []
    for name in sorted(os.listdir(hdir)):
        d = os.path.join(hdir, name)
        if os.path.isdir(d) and is_handler_dir(d):
            found.append(read_folder(root, name))
    if not found:
        _fail("no handler folder under %s" % hdir)
    triggers = {}
    for h in found:
        t = h["trigger"]
        if t:
            if t["name"] in triggers:
                _fail("handlers/%s/handler.conf and handlers/%s/handler.conf both declare trigger %s: Hasura "
                      "names a trigger once per database" % (triggers[t["name"]], h["name"], t["name"]))
            triggers[t["name"]] = h["name"]
    return found


def limits():
    return {"max_handler_name": MAX_HANDLER_NAME, "max_function_name": MAX_FUNCTION_NAME,
            "pg_max_ident": PG_MAX_IDENT, "max_trigger_name": MAX_TRIGGER_NAME, "prefix": PREFIX,
            "longest_stage_suffix": LONGEST_STAGE_SUFFIX}


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = list(argv[1:])
    if "--root" in args:
        i = args.index("--root")
        root = args[i + 1]
        del args[i:i + 2]
    if args == ["json"]:
        json.dump(folders(root), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if args == ["limits"]:
        json.dump(limits(), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    if len(args) == 2 and args[0] == "check-name":
        why = check_name(args[1], root)
        if why:
            sys.stderr.write("handler name %r refused: %s\n" % (args[1], why))
            return 1
        return 0
    if args in (["--help"], ["-h"]):
        sys.stdout.write(__doc__)
        return 0
    sys.stderr.write("usage: deploy/handlerconf.py json|limits|check-name NAME [--root DIR]\n")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except ConfError as e:
        sys.stderr.write("%s\n" % e)
        sys.exit(1)
