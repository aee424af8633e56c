#!/usr/bin/python3
"""deploy_hasura_test.py -- deploy/render --hasura: the stages' Hasura event triggers, and a pull request's round trip.

usage: deploy_hasura_test.py SOURCE_DIR

1. Renders every stage (pr_45, pr_845, staging, production): each output is Hasura's metadata
   export form (version 3, sources, tables, event_triggers, checked field by field and type by
   type), holds exactly the triggers of the handlers the stage deploys, with production's
   declarations for the three handlers, the webhook and key from the environment variables, and
   HASURA_EVENT_NAME = <handler>_<stage>.
2. Against a throwaway PostGIS made by scripts/db (db/schema.sql and every handler's
   schema.sql): --check-columns passes for every stage, and every column the output names is a
   column of its table; a trigger naming a missing column or table is refused with the
   handler.conf line; a new handler whose table comes from its own schema.sql passes.
3. The pull request's round trip on an exported metadata directory (a staging export with
   permissions, relationships and a trigger that is not ours): pointing changes exactly the
   HASURA_EVENT_NAME headers of the pull request's handlers and adds the new handler's trigger;
   restoring gives back staging's files byte for byte; the two-part output without a directory
   says the same; a trigger pointed at another pull request, and missing options, are refused.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

from vzcheck import check, finish

SRC = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(SRC, "deploy"))
import handlerconf  # noqa: E402
import hasura  # noqa: E402

STAGES = ("pr_45", "pr_845", "staging", "production")
TMP = tempfile.mkdtemp(prefix="vz-hasura-")
CRASH_COORDS = ["latitude", "longitude", "latitude_primary", "longitude_primary", "latitude_geocoded",
                "longitude_geocoded"]
# Production's three triggers, as issue 22 states them (first named update_crash_location_on_lat_lon_change, ...).
PRODUCTION = {
    "location_from_latlon": ("crash_update_location", "atd_txdot_crashes", CRASH_COORDS),
    "jurisdiction_from_latlon": ("crash_update_jurisdiction", "atd_txdot_crashes", CRASH_COORDS),
    "blueform_location_from_latlon": ("crash_update_noncr3_location", "atd_apd_blueform", ["latitude", "longitude"]),
}


def render(*args, root=SRC):
    return subprocess.run([os.path.join(SRC, "deploy", "render"), "--root", root, "--hasura"] + list(args),
                          capture_output=True, text=True)


def render_ok(*args, root=SRC):
    out = render(*args, root=root)
    if out.returncode != 0:
        raise SystemExit("render --hasura %s failed: %s" % (" ".join(args), out.stderr))
    return out


def triggers_of(doc):
    """{name: ((schema, table), trigger)} of a fragment."""
    out = {}
    for s in doc["sources"]:
        for tb in s["tables"]:
            for t in tb.get("event_triggers", []):
                out[t["name"]] = ((tb["table"]["schema"], tb["table"]["name"]), t)
    return out


def deployed(stage, root=SRC):
    return [h for h in handlerconf.folders(root)
            if h["deploy"] == "all" or (h["deploy"] == "pr" and stage.startswith("pr_"))]


def tree_copy(name):
    root = os.path.join(TMP, name)
    for d in ("deploy", "handlers", "scripts", "db"):
        shutil.copytree(os.path.join(SRC, d), os.path.join(root, d), ignore=shutil.ignore_patterns("__pycache__"))
    return root


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# --- 1. every stage, in Hasura's format --------------------------------------------------------
out = {}
for st in STAGES:
    if st.startswith("pr_"):
        continue
    r = render_ok(st)
    out[st] = json.loads(r.stdout)
    errs = hasura.check_fragment(out[st])
    check("%s: Hasura's metadata format" % st, not errs, "; ".join(errs))
    trigs = triggers_of(out[st])
    want = {h["trigger"]["name"]: h["name"] for h in deployed(st) if h["trigger"]}
    check("%s: the triggers of the handlers it deploys, exactly" % st, set(trigs) == set(want),
          "%s != %s" % (sorted(trigs), sorted(want)))
    for name, (key, t) in trigs.items():
        h = want.get(name)
        check("%s %s: webhook from %s" % (st, name, hasura.WEBHOOK_ENV),
              t.get("webhook_from_env") == hasura.WEBHOOK_ENV and "webhook" not in t)
        check("%s %s: headers: the key from the environment, the event name of the stage" % (st, name),
              t["headers"] == [{"name": "HASURA_EVENT_API", "value_from_env": hasura.KEY_ENV},
                               {"name": "HASURA_EVENT_NAME", "value": "%s_%s" % (h, st)}], t["headers"])
        check("%s %s: keys in the order Hasura exports them" % (st, name),
              list(t) == ["name", "definition", "retry_conf", "webhook_from_env", "headers"], list(t))
for name, (h, table, upd) in PRODUCTION.items():
    got = triggers_of(out["production"]).get(name)
    check("production declares %s" % name, got is not None)
    if got:
        key, t = got
        check("%s: on %s, insert *, update %s, no delete, no manual, retries 0/10/60" % (name, table, upd),
              key == ("public", table) and t["definition"] == {"enable_manual": False, "insert": {"columns": "*"},
                                                               "update": {"columns": upd}} and
              t["retry_conf"] == {"num_retries": 0, "interval_sec": 10, "timeout_sec": 60}, t)
        check("%s: production and staging differ only in the event name" % name,
              hasura.with_event_name(t, "x") == hasura.with_event_name(triggers_of(out["staging"])[name][1], "x"))

# The format check itself refuses what Hasura would: a vacuous checker would pass anything.
good = triggers_of(out["staging"])["location_from_latlon"][1]
for what, mutate in (
        ("a header with both value and value_from_env", lambda t: t["headers"][0].update(value="k")),
        ("columns that are not a list", lambda t: t["definition"]["update"].update(columns="latitude")),
        ("retries as a string", lambda t: t["retry_conf"].update(num_retries="0")),
        ("both webhook and webhook_from_env", lambda t: t.update(webhook="https://x/")),
        ("an unknown key", lambda t: t.update(webhook_env="X")),
        ("enable_manual as a string", lambda t: t["definition"].update(enable_manual="false")),
        ("a name Hasura refuses", lambda t: t.update(name="a" * 43))):
    bad = copy.deepcopy(good)
    mutate(bad)
    check("the format check refuses %s" % what, hasura.check_trigger(bad, "t") != [])
check("the format check passes the good one", hasura.check_trigger(good, "t") == [])

# A pull request's new SQL handler with a schema change: a column added to crashes, and a new table.
pr = tree_copy("pr")
write(os.path.join(pr, "handlers", "crash_speed_band", "handler.conf"), """\
# crash_speed_band: the test's new handler of a pull request
table = atd_txdot_crashes
key = crash_id
value = speed_band
trigger = speed_band_from_latlon
trigger_update = latitude_primary, longitude_primary, speed_band
""")
write(os.path.join(pr, "handlers", "crash_speed_band", "update.sql"),
      "SELECT NULL::text, NULL::text, false AS wrote WHERE $1::integer IS NULL\n")
write(os.path.join(pr, "handlers", "crash_speed_band", "schema.sql"),
      "ALTER TABLE atd_txdot_crashes ADD COLUMN speed_band text;\n")
write(os.path.join(pr, "handlers", "unit_tally", "handler.conf"), """\
table = unit_tallies
key = crash_id
value = units
trigger = unit_tally_on_change
trigger_insert = crash_id, units
""")
write(os.path.join(pr, "handlers", "unit_tally", "update.sql"),
      "SELECT NULL::text, NULL::text, false AS wrote WHERE $1::integer IS NULL\n")
write(os.path.join(pr, "handlers", "unit_tally", "schema.sql"),
      "CREATE TABLE unit_tallies (crash_id integer PRIMARY KEY, units integer);\n")

for st in ("pr_45", "pr_845"):
    r = render_ok(st, "--staging-root", SRC, root=pr)
    doc = json.loads(r.stdout)
    check("%s: two parts and the deletions" % st, set(doc) == {"stage", "point", "restore", "restore_delete"})
    for part in ("point", "restore"):
        errs = hasura.check_fragment(doc[part])
        check("%s %s: Hasura's metadata format" % (st, part), not errs, "; ".join(errs))
    pt = triggers_of(doc["point"])
    check("%s: points every trigger its handlers declare" % st,
          set(pt) == {h["trigger"]["name"] for h in deployed(st, pr) if h["trigger"]}, sorted(pt))
    names = {h["trigger"]["name"]: h["name"] for h in deployed(st, pr) if h["trigger"]}
    check("%s: each sends <handler>_%s" % (st, st),
          all(hasura.header_value(t, "HASURA_EVENT_NAME") == "%s_%s" % (names[n], st) for n, (_, t) in pt.items()))
    check("%s: the restore is staging's own triggers" % st,
          triggers_of(doc["restore"]) == {n: v for n, v in triggers_of(out["staging"]).items() if n in pt})
    check("%s: the restore deletes the triggers pointing adds" % st,
          sorted(d["name"] for d in doc["restore_delete"]) == ["speed_band_from_latlon", "unit_tally_on_change"],
          doc["restore_delete"])
    check("%s: the person doing it by hand is told each change" % st,
          "header HASURA_EVENT_NAME: crash_update_location_staging -> crash_update_location_%s" % st in r.stderr
          and "add trigger speed_band_from_latlon on public.atd_txdot_crashes" in r.stderr, r.stderr)

# --- 2. the columns, against a real PostGIS ----------------------------------------------------
pg = os.path.join(TMP, "pg")


def db_start(root, d):
    r = subprocess.run([os.path.join(root, "scripts", "db"), "start", d, "--empty"], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise SystemExit("scripts/db start failed: %s" % r.stderr)
    return [ln.split("=", 1)[1].strip("'") for ln in r.stdout.splitlines()
            if ln.startswith("export DATABASE_URL=")][0]


def db_stop(root, d):
    subprocess.run([os.path.join(root, "scripts", "db"), "stop", d], capture_output=True)


url = db_start(pr, pg)  # the pull request's tree: db/schema.sql and every handler's schema.sql
try:
    cols = hasura.db_columns(url)
    for st in STAGES:
        r = render(st, "--check-columns", url, "--staging-root", SRC, root=pr)
        check("%s: --check-columns passes" % st, r.returncode == 0, r.stderr)
        doc = json.loads(r.stdout) if r.returncode == 0 else {"sources": []}
        parts = [doc["point"]] if st.startswith("pr_") else [doc]
        for part in parts:
            for name, (key, t) in triggers_of(part).items():
                named = [c for op in ("insert", "update", "delete") if op in t["definition"]
                         for c in (t["definition"][op]["columns"] if t["definition"][op]["columns"] != "*" else [])]
                check("%s %s: its table and every column it names exist" % (st, name),
                      key in cols and set(named) <= cols[key], named)
    check("the new table of unit_tally's schema.sql is there", ("public", "unit_tallies") in cols)

    bad = tree_copy("bad")
    conf = os.path.join(bad, "handlers", "crash_update_noncr3_location", "handler.conf")
    text = open(conf, encoding="utf-8").read()
    write(conf, text.replace("trigger_update = latitude, longitude", "trigger_update = latitude, longitud"))
    line = text.split("\n").index("trigger_update = latitude, longitude") + 1
    r = render("staging", "--check-columns", url, root=bad)
    check("a missing column is refused", r.returncode != 0 and r.stdout == "")
    check("naming the handler.conf line and the column",
          "handlers/crash_update_noncr3_location/handler.conf:%d: trigger blueform_location_from_latlon: "
          "trigger_update names longitud, not a column of public.atd_apd_blueform" % line in r.stderr, r.stderr)
    write(conf, text.replace("trigger_table = atd_apd_blueform", "trigger_table = atd_apd_blueforms"))
    line = text.split("\n").index("trigger_table = atd_apd_blueform") + 1
    r = render("staging", "--check-columns", url, root=bad)
    check("a missing table is refused, naming the line",
          r.returncode != 0 and "handlers/crash_update_noncr3_location/handler.conf:%d: trigger "
          "blueform_location_from_latlon: table public.atd_apd_blueforms does not exist" % line in r.stderr,
          r.stderr)
    write(conf, text)
    j = os.path.join(bad, "handlers", "crash_update_jurisdiction", "handler.conf")
    jt = open(j, encoding="utf-8").read()
    write(j, jt.replace("table = atd_txdot_crashes", "table = atd_txdot_crash"))
    r = render("staging", "--check-columns", url, root=bad)
    check("a SQL handler's trigger on its `table`: the table line is named",
          r.returncode != 0 and "handlers/crash_update_jurisdiction/handler.conf:%d:" %
          (jt.split("\n").index("table = atd_txdot_crashes") + 1) in r.stderr, r.stderr)
    r = render("staging", "--check-columns", url.replace("/vz?", "/nosuchdb?"))
    check("a database it cannot read is an error, not a pass", r.returncode != 0 and "psql" in r.stderr, r.stderr)
finally:
    db_stop(pr, pg)

# --- 3. the round trip on an exported metadata directory ---------------------------------------
md = os.path.join(TMP, "staging-metadata")
write(os.path.join(md, "version.yaml"), "version: 3\n")
write(os.path.join(md, "databases", "databases.yaml"), hasura.dump_yaml([{
    "name": "default", "kind": "postgres",
    "configuration": {"connection_info": {"database_url": {"from_env": "HASURA_GRAPHQL_DATABASE_URL"},
                                          "isolation_level": "read-committed", "use_prepared_statements": False}},
    "tables": "!include default/tables/tables.yaml"}]))
tdir = os.path.join(md, "databases", "default", "tables")
write(os.path.join(tdir, "tables.yaml"), "".join('- "!include public_%s.yaml"\n' % t for t in (
    "atd_apd_blueform", "atd_txdot_crashes", "atd_txdot_locations")))
theirs = {"name": "crash_audit_webhook", "definition": {"enable_manual": True, "delete": {"columns": "*"}},
          "retry_conf": {"num_retries": 3, "interval_sec": 30, "timeout_sec": 60},
          "webhook": "https://audit.example/hook", "headers": [{"name": "X-Audit", "value": "1"}]}
write(os.path.join(tdir, "public_atd_txdot_crashes.yaml"), hasura.dump_yaml({
    "table": {"name": "atd_txdot_crashes", "schema": "public"},
    "object_relationships": [{"name": "location", "using": {"foreign_key_constraint_on": "location_id"}}],
    "select_permissions": [{"role": "viewer", "permission": {"columns": ["crash_id", "location_id"],
                                                            "filter": {}}}],
    "event_triggers": [theirs]}))
write(os.path.join(tdir, "public_atd_apd_blueform.yaml"), hasura.dump_yaml({
    "table": {"name": "atd_apd_blueform", "schema": "public"},
    "update_permissions": [{"role": "editor", "permission": {"columns": ["latitude"], "filter": {}, "check": {}}}]}))
write(os.path.join(tdir, "public_atd_txdot_locations.yaml"), "table:\n  name: atd_txdot_locations\n  schema: public\n")


def snapshot(d):
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            out[os.path.relpath(p, d)] = open(p, "rb").read()
    return out


def load(d, rel):
    import yaml
    return yaml.safe_load(open(os.path.join(d, rel), encoding="utf-8"))


before = snapshot(md)
r = render_ok("staging", "--metadata", md)
after = snapshot(md)
crashes, blue = "databases/default/tables/public_atd_txdot_crashes.yaml", "databases/default/tables/public_atd_apd_blueform.yaml"
check("staging's triggers merged: only the two tables' files change",
      {k for k in after if after[k] != before.get(k)} == {crashes, blue}, r.stderr)
doc = load(md, crashes)
check("the table's other metadata is kept, and the trigger that is not ours",
      doc["select_permissions"][0]["role"] == "viewer" and doc["object_relationships"][0]["name"] == "location" and
      doc["event_triggers"][0] == theirs)
check("staging's triggers are in the files as render writes them",
      {t["name"]: t for t in doc["event_triggers"][1:]} ==
      {n: t for n, (k, t) in triggers_of(out["staging"]).items() if k == ("public", "atd_txdot_crashes")})
r = render_ok("staging", "--metadata", md)
check("merging again changes nothing", snapshot(md) == after and "nothing to change" in r.stderr, r.stderr)
staging_md = snapshot(md)

work = os.path.join(TMP, "work")
shutil.copytree(md, work)
r = render("pr_845", "--metadata", work, root=pr)
check("pointing pr_845 refuses a table staging's Hasura does not track, naming it",
      r.returncode != 0 and "table public.unit_tallies is not tracked" in r.stderr, r.stderr)
check("and changes nothing", snapshot(work) == staging_md)
r = render_ok("pr_845", "--metadata", work, "--only", "crash_speed_band,crash_update_location,"
              "crash_update_jurisdiction,crash_update_noncr3_location", root=pr)
pointed = snapshot(work)
check("pointing changes the two tables' files only", {k for k in pointed if pointed[k] != staging_md[k]} ==
      {crashes, blue})
for rel in (crashes, blue):
    a, b = load(md, rel), load(work, rel)
    ta = {t["name"]: t for t in a.get("event_triggers", [])}
    tb = {t["name"]: t for t in b.get("event_triggers", [])}
    check("%s: nothing but event_triggers changes" % rel,
          {k: v for k, v in a.items() if k != "event_triggers"} == {k: v for k, v in b.items() if k != "event_triggers"})
    for n, t in ta.items():
        h = hasura.header_value(t, "HASURA_EVENT_NAME")
        if h and h.endswith("_staging"):
            check("%s: only its HASURA_EVENT_NAME changes, to _pr_845" % n,
                  tb[n] == hasura.with_event_name(t, h[:-len("staging")] + "pr_845"), tb[n])
        else:
            check("%s (not ours) is untouched" % n, tb[n] == t)
    for n in set(tb) - set(ta):
        check("the new handler's trigger %s is added, sending crash_speed_band_pr_845" % n,
              n == "speed_band_from_latlon" and hasura.header_value(tb[n], "HASURA_EVENT_NAME") ==
              "crash_speed_band_pr_845" and not hasura.check_trigger(tb[n], n))
r = render("pr_45", "--metadata", work, root=pr)
check("pointing pr_45 while pr_845 holds the triggers is refused, naming pr_845",
      r.returncode != 0 and "is pointed at pr_845" in r.stderr, r.stderr)
r = render("pr_845", "--restore", "--metadata", work)
check("--restore without --staging-root is refused", r.returncode != 0 and "--staging-root" in r.stderr)
r = render("pr_845", root=pr)
check("pointing without --metadata or --staging-root is refused", r.returncode != 0 and "--metadata" in r.stderr)
after_merge = os.path.join(TMP, "after-merge")
shutil.copytree(work, after_merge)
r = render_ok("pr_845", "--restore", "--metadata", work, "--staging-root", SRC)
check("restoring gives staging's exact metadata back, byte for byte", snapshot(work) == staging_md,
      [k for k in staging_md if snapshot(work).get(k) != staging_md[k]])
check("and says what it did", "delete trigger speed_band_from_latlon" in r.stderr and
      "crash_update_location_pr_845 -> crash_update_location_staging" in r.stderr, r.stderr)
r = render_ok("pr_845", "--restore", "--metadata", work, "--staging-root", SRC)
check("restoring twice changes nothing", snapshot(work) == staging_md and "nothing to change" in r.stderr)
# Restored after the pull request merged (staging now deploys crash_speed_band): its trigger stays, staging's.
render_ok("pr_845", "--restore", "--metadata", after_merge, "--staging-root", pr)
t = {t["name"]: t for t in load(after_merge, crashes)["event_triggers"]}
check("restored after the merge, the new trigger stays and sends crash_speed_band_staging",
      hasura.header_value(t["speed_band_from_latlon"], "HASURA_EVENT_NAME") == "crash_speed_band_staging")

# staging merged over a pointed directory takes its triggers back, and names a trigger of a handler it lacks.
taken = os.path.join(TMP, "taken")
shutil.copytree(md, taken)
render_ok("pr_845", "--metadata", taken, "--only", "crash_update_location", root=pr)
m = hasura.MetadataDir(taken)
gone = copy.deepcopy(triggers_of(out["staging"])["location_from_latlon"][1])
gone["name"] = "retired_from_latlon"
m.put(("public", "atd_txdot_crashes"), hasura.with_event_name(gone, "crash_retired_staging"))
m.save()
r = render_ok("staging", "--metadata", taken)
check("staging over a pointed trigger says it takes it back",
      "trigger location_from_latlon was pointed at pr_845: it is staging's again" in r.stderr, r.stderr)
check("and warns of a trigger whose handler staging does not deploy, leaving it",
      "warning: trigger retired_from_latlon on public.atd_txdot_crashes sends crash_retired_staging" in r.stderr and
      "retired_from_latlon" in {t["name"] for t in load(taken, crashes)["event_triggers"]}, r.stderr)
check("location_from_latlon sends crash_update_location_staging again",
      hasura.header_value({t["name"]: t for t in load(taken, crashes)["event_triggers"]}["location_from_latlon"],
                          "HASURA_EVENT_NAME") == "crash_update_location_staging")

# The two-part output says the same as the directory: applying its parts by hand gives the same files.
doc = json.loads(render_ok("pr_845", "--staging-root", SRC, "--only", "crash_speed_band,crash_update_location,"
                           "crash_update_jurisdiction,crash_update_noncr3_location", root=pr).stdout)
byhand = os.path.join(TMP, "byhand")
shutil.copytree(md, byhand)
m = hasura.MetadataDir(byhand)
for name, (key, trig) in triggers_of(doc["point"]).items():
    m.put(key, trig)
m.save()
check("the two-part output's point part gives the directory's pointed files", snapshot(byhand) == pointed)
m = hasura.MetadataDir(byhand)
for name, (key, trig) in triggers_of(doc["restore"]).items():
    m.put(key, trig)
for d in doc["restore_delete"]:
    m.delete((d["table"]["schema"], d["table"]["name"]), d["name"])
m.save()
check("and its restore part gives staging's back", snapshot(byhand) == staging_md)

shutil.rmtree(TMP, ignore_errors=True)
finish("deploy_hasura")
