#!/usr/bin/python3
"""deploy/hasura.py -- the Hasura event triggers of a stage, as Hasura's metadata has them.

deploy/render --hasura STAGE calls in here (docs/deploy.md, "Point a Hasura trigger at a
pull-request queue and back").  The triggers come from the handler folders, read by
deploy/handlerconf.py; nothing here parses handler.conf.

What is ours.  An event trigger declared by a handler folder (`trigger = NAME`).  In Hasura's
metadata (config v3) it lives in the table's file databases/<source>/tables/<schema>_<table>.yaml
under `event_triggers`, beside what is not ours: the table's permissions, relationships,
computed fields, and any other event trigger.  This module writes and changes our triggers
only, by name, and never another key: a table's other metadata is kept as it is.

Every trigger of every stage reads the same two environment variables of the Hasura instance,
so staging's and production's metadata differ only in the event-name header:

  VZ_EVENTS_WEBHOOK_URL       the /events/ URL of the instance's environment
                              (the stack output WebhookUrl of atd-vz-data-events-<env>)
  VZ_EVENTS_HASURA_EVENT_API  the key: secret atd-vz-data/<env>/vz-events-hasura, key
                              HASURA_EVENT_API (sent as the header HASURA_EVENT_API)

and the header HASURA_EVENT_NAME = <handler>_<stage> routes the event to the stage's queue.

A pull-request stage (pr_<N>) has no Hasura of its own: staging's triggers are pointed at it.
Pointing changes, for each trigger of a handler the pull request deploys, the value of
HASURA_EVENT_NAME from <handler>_staging to <handler>_pr_<N>, and adds the trigger of a handler
staging has no trigger for; nothing else.  Restoring finds every trigger whose header says
<handler>_pr_<N> (whoever pointed it, from whatever tree), sets it back to <handler>_staging
when staging deploys the handler, and deletes it otherwise (a trigger pointing adds).
"""
import copy
import json
import os
import re
import subprocess

import handlerconf

WEBHOOK_ENV = "VZ_EVENTS_WEBHOOK_URL"
KEY_ENV = "VZ_EVENTS_HASURA_EVENT_API"
KEY_HEADER = "HASURA_EVENT_API"
NAME_HEADER = "HASURA_EVENT_NAME"
DEFAULT_SOURCE = "default"

# Hasura's metadata format, for the parts we write (EventTriggerConf of the metadata reference).
TRIGGER_KEYS = ("name", "definition", "retry_conf", "webhook", "webhook_from_env", "headers",
                "request_transform", "response_transform", "cleanup_config", "trigger_on_replication")
DEFINITION_KEYS = ("enable_manual", "insert", "update", "delete")
RETRY_KEYS = ("num_retries", "interval_sec", "timeout_sec", "tolerance_sec")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class HasuraError(Exception):
    """A mistake to fix: the message names the file (handler.conf line or metadata file) and what to do."""


def _fail(msg):
    raise HasuraError(msg)


# --- our triggers ------------------------------------------------------------------------------

def event_trigger(h, stage):
    """Handler h's trigger (a handlerconf folder dict) for `stage`, in Hasura's metadata form."""
    t = h["trigger"]
    definition = {"enable_manual": t["manual"]}
    for op in ("insert", "update"):
        if t[op] != "none":
            definition[op] = {"columns": "*" if t[op] == "*" else list(t[op])}
    if t["delete"]:
        definition["delete"] = {"columns": "*"}
    return {
        "name": t["name"],
        "definition": definition,
        "retry_conf": {"num_retries": t["num_retries"], "interval_sec": t["interval_sec"],
                       "timeout_sec": t["timeout_sec"]},
        "webhook_from_env": WEBHOOK_ENV,
        "headers": [{"name": KEY_HEADER, "value_from_env": KEY_ENV},
                    {"name": NAME_HEADER, "value": "%s_%s" % (h["name"], stage)}],
    }


def table_of(h):
    """(schema, table) of handler h's trigger."""
    return (h["trigger"]["schema"], h["trigger"]["table"])


def stage_handlers(root, stage, deployed_in):
    """The handler folders deployed in `stage` that declare a trigger, as handlerconf dicts."""
    try:
        found = handlerconf.folders(root)
    except handlerconf.ConfError as e:
        _fail(str(e))
    return [h for h in found if h["trigger"] and deployed_in(h["deploy"], stage)]


def fragment(source, entries):
    """Hasura's JSON export form holding only `entries` [((schema, table), trigger)], by table then name.

    Not a whole metadata: it lacks the source's configuration and every other key, so it is
    read, or merged (--metadata), never applied alone with replace_metadata."""
    tables = {}
    for key, trig in entries:
        tables.setdefault(key, []).append(trig)
    return {"version": 3, "sources": [{
        "name": source, "kind": "postgres",
        "tables": [{"table": {"name": k[1], "schema": k[0]}, "event_triggers": sorted(v, key=lambda t: t["name"])}
                   for k, v in sorted(tables.items())]}]}


def header_value(trig, name):
    """The literal value of header `name` of a trigger in metadata form, or None."""
    for hd in trig.get("headers") or []:
        if isinstance(hd, dict) and hd.get("name", "").lower() == name.lower():
            return hd.get("value")
    return None


def with_event_name(trig, value):
    """A copy of trig whose HASURA_EVENT_NAME header says value (nothing else changed)."""
    out = copy.deepcopy(trig)
    for hd in out.get("headers") or []:
        if isinstance(hd, dict) and hd.get("name", "").lower() == NAME_HEADER.lower():
            hd["value"] = value
            return out
    _fail("trigger %s has no %s header" % (trig.get("name"), NAME_HEADER))


def stage_entries(root, stage, deployed_in, only=None):
    """[(handler, (schema, table), trigger)] of the handlers `stage` deploys (only: those names)."""
    hs = stage_handlers(root, stage, deployed_in)
    if only:
        names = {h["name"] for h in handlerconf.folders(root)}
        with_trigger = {h["name"] for h in hs}
        for n in only:
            if n not in names:
                _fail("--only %s: no folder handlers/%s" % (n, n))
            if n not in with_trigger:
                _fail("--only %s: handlers/%s/handler.conf declares no trigger, or %s does not deploy it"
                      % (n, n, stage))
        hs = [h for h in hs if h["name"] in only]
    return [(h["name"], table_of(h), event_trigger(h, stage)) for h in hs]


def pr_handler(stage, trig):
    """The handler a trigger's HASURA_EVENT_NAME header names for `stage` (..._pr_N), or None."""
    v = header_value(trig, NAME_HEADER)
    suffix = "_" + stage
    if isinstance(v, str) and v.endswith(suffix) and handlerconf.HANDLER_RE.match(v[:-len(suffix)]):
        return v[:-len(suffix)]
    return None


def point(stage, pr_entries, staging):
    """What pointing staging's triggers at pull-request stage `stage` sets.

    pr_entries: stage_entries of the pull request's tree for `stage`; staging: {trigger name:
    ((schema, table), trigger)} as staging has them.  Returns (sets, adds, notes): sets and adds
    are [((schema, table), trigger)] to write; notes are lines for the person doing it."""
    sets, adds, notes = [], [], []
    for h, key, trig in pr_entries:
        name = trig["name"]
        if name not in staging:
            adds.append((key, trig))
            notes.append("add trigger %s on %s.%s (staging has none: handler %s is new to it), header %s: %s"
                         % (name, key[0], key[1], h, NAME_HEADER, header_value(trig, NAME_HEADER)))
            continue
        skey, strig = staging[name]
        if skey != key:
            _fail("handlers/%s/handler.conf: trigger %s is on %s.%s, but staging has it on %s.%s: a trigger "
                  "cannot move tables while pointed; deploy the change to staging first"
                  % (h, name, key[0], key[1], skey[0], skey[1]))
        now = header_value(strig, NAME_HEADER)
        if now == "%s_%s" % (h, stage):
            notes.append("trigger %s already says %s: %s" % (name, NAME_HEADER, now))
            continue
        if now != "%s_staging" % h:
            other = re.match(r"^(.*)_(pr_[0-9]+)$", now or "")
            if other:
                _fail("trigger %s on %s.%s is pointed at %s (%s: %s): restore it first "
                      "(deploy/render --hasura %s --restore --metadata DIR --staging-root MAIN)"
                      % (name, key[0], key[1], other.group(2), NAME_HEADER, now, other.group(2)))
            _fail("trigger %s on %s.%s: staging's %s header is %r, expected %s_staging: staging's trigger "
                  "is not the one handlers/%s declares; fix staging's metadata first "
                  "(deploy/render --hasura staging --metadata DIR)"
                  % (name, key[0], key[1], NAME_HEADER, now, h, h))
        pointed = with_event_name(strig, "%s_%s" % (h, stage))
        if _without_event_name(strig) != _without_event_name(trig):
            notes.append("note: handlers/%s declares trigger %s otherwise than staging has it; only its header "
                         "changes here (the declaration reaches staging with --hasura staging)" % (h, name))
        sets.append((key, pointed))
        notes.append("trigger %s on %s.%s: header %s: %s -> %s"
                     % (name, key[0], key[1], NAME_HEADER, now, header_value(pointed, NAME_HEADER)))
    return sets, adds, notes


def _without_event_name(trig):
    t = copy.deepcopy(trig)
    t["headers"] = [hd for hd in t.get("headers") or [] if hd.get("name", "").lower() != NAME_HEADER.lower()]
    return t


def restore(stage, current, staging_handlers):
    """What puts staging's triggers back after pull-request stage `stage`.

    current: {trigger name: ((schema, table), trigger)} as Hasura has them now; staging_handlers:
    the names of the handlers staging deploys.  Returns (sets, deletes, notes)."""
    sets, deletes, notes = [], [], []
    for name, (key, trig) in sorted(current.items()):
        h = pr_handler(stage, trig)
        if h is None:
            continue
        if h in staging_handlers:
            back = with_event_name(trig, "%s_staging" % h)
            sets.append((key, back))
            notes.append("trigger %s on %s.%s: header %s: %s_%s -> %s_staging"
                         % (name, key[0], key[1], NAME_HEADER, h, stage, h))
        else:
            deletes.append((key, name))
            notes.append("delete trigger %s on %s.%s (staging does not deploy handler %s)"
                         % (name, key[0], key[1], h))
    return sets, deletes, notes


# --- a metadata directory (config v3, as `hasura metadata export` writes it) -------------------

def _yaml():
    import yaml  # Debian's python3-yaml (scripts/packages.txt)

    class Dumper(yaml.SafeDumper):
        """Block style, lists indented under their key, keys in the order given: as Hasura's CLI writes."""

        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)
    return yaml, Dumper


def _include(v, where):
    m = re.match(r'^!include\s+(\S+)$', v) if isinstance(v, str) else None
    if not m:
        _fail("%s: expected \"!include FILE\", got %r" % (where, v))
    return m.group(1)


class MetadataDir:
    """The tables of one source of an exported metadata directory; writes back only what changes."""

    def __init__(self, path, source=DEFAULT_SOURCE):
        self.yaml, self.dumper = _yaml()
        self.path = path
        self.source = source
        dbs_file = os.path.join(path, "databases", "databases.yaml")
        if not os.path.isfile(dbs_file):
            _fail("%s: no databases/databases.yaml: give the metadata directory `hasura metadata export` "
                  "wrote (config v3)" % path)
        dbs = self.load(dbs_file) or []
        src = [d for d in dbs if isinstance(d, dict) and d.get("name") == source]
        if not src:
            _fail("%s: no source named %s (there: %s); pass --source NAME"
                  % (dbs_file, source, ", ".join(str(d.get("name")) for d in dbs if isinstance(d, dict))))
        inc = src[0].get("tables")
        if inc is None:
            _fail("%s: source %s tracks no table" % (dbs_file, source))
        self.tables_file = os.path.join(path, "databases", _include(inc, dbs_file + ": tables"))
        self.tables_dir = os.path.dirname(self.tables_file)
        self.tables = {}  # (schema, table) -> [file, parsed document]
        for item in self.load(self.tables_file) or []:
            f = os.path.join(self.tables_dir, _include(item, self.tables_file))
            doc = self.load(f)
            t = doc.get("table") if isinstance(doc, dict) else None
            if not isinstance(t, dict) or "name" not in t:
                _fail("%s: no `table: {name, schema}`" % f)
            self.tables[(t.get("schema", "public"), t["name"])] = [f, doc]
        self.changed = set()

    def load(self, f):
        try:
            with open(f, encoding="utf-8") as fh:
                return self.yaml.safe_load(fh)
        except (OSError, self.yaml.YAMLError) as e:
            _fail("%s: %s" % (f, e))

    def triggers(self):
        """{trigger name: ((schema, table), trigger)} of every table of the source."""
        out = {}
        for key, (_, doc) in self.tables.items():
            for trig in doc.get("event_triggers") or []:
                out[trig["name"]] = (key, trig)
        return out

    def _table(self, key, what):
        if key not in self.tables:
            _fail("%s: table %s.%s is not tracked in this metadata (%s): track it in Hasura first (console: Data "
                  "-> the table -> Track; it comes with its schema change), export again, then rerun"
                  % (self.tables_file, key[0], key[1], what))
        return self.tables[key]

    def put(self, key, trig):
        """Set trigger `trig` on table key: replace the trigger of that name, else append it."""
        f, doc = self._table(key, "trigger " + trig["name"])
        lst = doc.setdefault("event_triggers", [])
        for i, old in enumerate(lst):
            if old.get("name") == trig["name"]:
                if old != trig:
                    lst[i] = trig
                    self.changed.add(key)
                return
        lst.append(trig)
        self.changed.add(key)

    def delete(self, key, name):
        f, doc = self._table(key, "trigger " + name)
        lst = doc.get("event_triggers") or []
        keep = [t for t in lst if t.get("name") != name]
        if len(keep) != len(lst):
            if keep:
                doc["event_triggers"] = keep
            else:
                del doc["event_triggers"]
            self.changed.add(key)

    def save(self):
        """Write the changed tables' files (and no other file); returns their paths."""
        out = []
        for key in sorted(self.changed):
            f, doc = self.tables[key]
            with open(f, "w", encoding="utf-8") as fh:
                self.yaml.dump(doc, fh, Dumper=self.dumper, sort_keys=False, default_flow_style=False,
                               allow_unicode=True, width=1 << 20)
            out.append(f)
        return out


def dump_yaml(doc):
    """doc as YAML in the style MetadataDir writes (for tests and fixtures)."""
    yaml, dumper = _yaml()
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=1 << 20)


# --- checks ------------------------------------------------------------------------------------

def _columns_ok(v):
    return v == "*" or (isinstance(v, list) and all(isinstance(c, str) and c for c in v))


def check_trigger(t, where):
    """Errors (sentences) of one event trigger against Hasura's metadata format; [] when it is well-formed."""
    errs = []

    def err(msg):
        errs.append("%s: %s" % (where, msg))
    if not isinstance(t, dict):
        return ["%s: an event trigger must be an object" % where]
    for k in t:
        if k not in TRIGGER_KEYS:
            err("unknown key %r" % k)
    name = t.get("name")
    if not isinstance(name, str) or not handlerconf.TRIGGER_NAME_RE.match(name) or \
            len(name) > handlerconf.MAX_TRIGGER_NAME:
        err("name %r: letters, digits, _ and -, at most %d characters" % (name, handlerconf.MAX_TRIGGER_NAME))
    d = t.get("definition")
    if not isinstance(d, dict):
        err("definition must be an object")
    else:
        for k in d:
            if k not in DEFINITION_KEYS:
                err("definition: unknown key %r" % k)
        if "enable_manual" in d and not isinstance(d["enable_manual"], bool):
            err("definition.enable_manual must be true or false")
        for op in ("insert", "update", "delete"):
            if op in d:
                if not isinstance(d[op], dict) or set(d[op]) - {"columns", "payload"} or \
                        not _columns_ok(d[op].get("columns")):
                    err("definition.%s must be {columns: \"*\" | [column, ...]}" % op)
        if not any(op in d for op in ("insert", "update", "delete")) and not d.get("enable_manual"):
            err("definition fires on nothing")
    r = t.get("retry_conf")
    if not isinstance(r, dict):
        err("retry_conf must be an object")
    else:
        for k in r:
            if k not in RETRY_KEYS:
                err("retry_conf: unknown key %r" % k)
        for k in ("num_retries", "interval_sec", "timeout_sec"):
            if not isinstance(r.get(k), int) or isinstance(r.get(k), bool) or r[k] < 0:
                err("retry_conf.%s must be a whole number" % k)
    hooks = [k for k in ("webhook", "webhook_from_env") if k in t]
    if len(hooks) != 1:
        err("exactly one of webhook and webhook_from_env")
    elif not isinstance(t[hooks[0]], str) or not t[hooks[0]]:
        err("%s must be a string" % hooks[0])
    elif hooks[0] == "webhook_from_env" and not ENV_NAME_RE.match(t["webhook_from_env"]):
        err("webhook_from_env %r is not an environment variable name" % t["webhook_from_env"])
    hs = t.get("headers", [])
    if not isinstance(hs, list):
        err("headers must be a list")
    else:
        for i, hd in enumerate(hs):
            if not isinstance(hd, dict) or not isinstance(hd.get("name"), str) or \
                    len([k for k in ("value", "value_from_env") if k in hd]) != 1 or \
                    set(hd) - {"name", "value", "value_from_env"} or \
                    not all(isinstance(hd[k], str) for k in hd):
                err("headers[%d] must be {name, value} or {name, value_from_env}, strings" % i)
    return errs


def check_fragment(doc):
    """Errors of a document in Hasura's JSON export form (version 3, sources, tables, event_triggers)."""
    errs = []
    if not isinstance(doc, dict) or doc.get("version") != 3 or not isinstance(doc.get("sources"), list):
        return ["expected {\"version\": 3, \"sources\": [...]}"]
    for s in doc["sources"]:
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or s.get("kind") != "postgres" or \
                not isinstance(s.get("tables"), list):
            errs.append("a source must be {name, kind: postgres, tables: [...]}")
            continue
        for tb in s["tables"]:
            t = tb.get("table") if isinstance(tb, dict) else None
            if not isinstance(t, dict) or set(t) != {"name", "schema"} or \
                    not all(isinstance(v, str) for v in t.values()):
                errs.append("source %s: a table must be {table: {name, schema}, ...}" % s["name"])
                continue
            where = "%s.%s.%s" % (s["name"], t["schema"], t["name"])
            trigs = tb.get("event_triggers", [])
            if not isinstance(trigs, list):
                errs.append("%s: event_triggers must be a list" % where)
                continue
            for i, trig in enumerate(trigs):
                errs += check_trigger(trig, "%s.event_triggers[%d]" % (where, i))
    return errs


def db_columns(url):
    """{(schema, table): {column, ...}} of every table and view of the database at url (psql)."""
    q = ("SELECT table_schema || '.' || table_name || '.' || column_name FROM information_schema.columns "
         "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
    try:
        out = subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", q],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        _fail("--check-columns: psql: %s" % e)
    if out.returncode != 0:
        _fail("--check-columns: psql failed: %s" % out.stderr.strip())
    cols = {}
    for line in out.stdout.splitlines():
        s, t, c = line.split(".", 2)
        cols.setdefault((s, t), set()).add(c)
    return cols


def check_columns(handlers, cols):
    """Refuse a trigger whose table or a column does not exist in cols (db_columns), naming the line."""
    errs = []
    for h in handlers:
        t = h["trigger"]
        if not t:
            continue
        key = (t["schema"], t["table"])
        w = t["where"]
        if key not in cols:
            errs.append("%s: trigger %s: table %s.%s does not exist (db/schema.sql, or the handler's schema.sql "
                        "for a new table): correct the table's name" % (w["trigger_table"], t["name"], key[0], key[1]))
            continue
        for op in ("insert", "update"):
            if isinstance(t[op], list):
                missing = [c for c in t[op] if c not in cols[key]]
                if missing:
                    errs.append("%s: trigger %s: trigger_%s names %s, not a column of %s.%s: correct or remove %s"
                                % (w["trigger_" + op], t["name"], op, ", ".join(missing), key[0], key[1],
                                   "it" if len(missing) == 1 else "them"))
    if errs:
        _fail("\n".join(errs))


def dumps(doc):
    """JSON as render writes it."""
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"
