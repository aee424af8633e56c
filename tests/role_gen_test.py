#!/usr/bin/python3
"""role_gen_test.py -- deploy/role, the generator of db/role.sql, on folders made here.

usage: role_gen_test.py SOURCE_DIR

  * the committed db/role.sql is what the folders declare (`deploy/role --check`), and a stale one is
    refused with the command to run;
  * the audit trigger's needs (INSERT on the change log, its sequence by pg_get_serial_sequence, the
    eight lookups) come with any folder that updates atd_txdot_crashes, implicitly or by a grant line,
    and only then;
  * every identifier is quoted, a schema-qualified table brings USAGE on its schema, and column grants
    of several folders merge into one.
No database here: tests/role_test.sh applies the result to PostGIS.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzcheck import check, finish  # noqa: E402

SRC = os.path.abspath(sys.argv[1])
ROLE = os.path.join(SRC, "deploy", "role")
LOOKUPS = ["atd_txdot__est_comp_cost", "atd_txdot__est_comp_cost_crash_based", "atd_txdot__est_econ_cost",
           "atd_txdot__speed_mgmt_lkp", "atd_txdot_units", "atd__mode_category_lkp", "atd_txdot__veh_body_styl_lkp",
           "atd_txdot__veh_unit_desc_lkp"]


def tree(folders):
    """A tree of its own: deploy/ and db/ copied, handlers/ as given {name: {file: text}}."""
    root = tempfile.mkdtemp(prefix="vz-rolegen.")
    shutil.copytree(os.path.join(SRC, "deploy"), os.path.join(root, "deploy"))
    os.makedirs(os.path.join(root, "db"))
    for name, files in folders.items():
        d = os.path.join(root, "handlers", name)
        os.makedirs(d)
        for f, text in files.items():
            with open(os.path.join(d, f), "w", encoding="utf-8") as fh:
                fh.write(text)
    return root


def role(root, *args):
    return subprocess.run([os.path.join(root, "deploy", "role")] + list(args), capture_output=True, text=True)


SQL_HANDLER = {"update.sql": "SELECT 1\n"}

# 1. The committed file.
r = subprocess.run([ROLE, "--check"], capture_output=True, text=True)
check("db/role.sql is what the folders declare", r.returncode == 0, r.stderr)

# 2. A folder that writes no crash: no audit grants; one that writes crashes implicitly: all of them.
root = tree({"report_note": dict(SQL_HANDLER, **{"handler.conf": "table = atd_apd_blueform\nkey = case_id\n"
                                                                 "value = note\ngrant = SELECT ON council_districts\n"})})
out = role(root).stdout
check("a folder that writes no crash gets no change-log grant", "atd_txdot_change_log" not in out, out)
check("its implicit grants", 'GRANT SELECT ON TABLE "atd_apd_blueform"' in out and
      'GRANT UPDATE ("note") ON TABLE "atd_apd_blueform"' in out, out)
check("its declared grant", 'GRANT SELECT ON TABLE "council_districts" TO :"role";' in out, out)
r = role(root, "--check")
check("a stale db/role.sql is refused, naming the command", r.returncode == 1 and "deploy/role --write" in r.stderr,
      r.stderr)
check("--write writes it", role(root, "--write").returncode == 0 and role(root, "--check").returncode == 0)
shutil.rmtree(root)

root = tree({"crash_flag": dict(SQL_HANDLER, **{"handler.conf": "table = atd_txdot_crashes\nkey = crash_id\n"
                                                                "value = flag\n"}),
             "crash_note": {"handler.c": "/* C */\n",
                            "handler.conf": "grant = UPDATE (note, flag) ON atd_txdot_crashes\n"
                                            "grant = SELECT ON gis.council_districts\n"
                                            "grant = EXECUTE ON FUNCTION gis.find_district(integer, double precision)\n"}})
out = role(root).stdout
check("updating crashes brings INSERT on the change log", 'GRANT INSERT ON TABLE "atd_txdot_change_log"' in out, out)
check("and the eight lookups", all('GRANT SELECT ON TABLE "%s" TO :"role";' % t in out for t in LOOKUPS), out)
check("and the sequence from the column, never by name",
      "pg_get_serial_sequence('\"atd_txdot_change_log\"', 'change_log_id')" in out and "_id_seq" not in out, out)
check("column grants of two folders merged", 'GRANT UPDATE ("flag", "note") ON TABLE "atd_txdot_crashes"' in out, out)
check("a schema-qualified table quoted, with USAGE on its schema",
      'GRANT SELECT ON TABLE "gis"."council_districts"' in out and 'GRANT USAGE ON SCHEMA "gis"' in out, out)
check("a function quoted, its argument types kept",
      'GRANT EXECUTE ON FUNCTION "gis"."find_district"(integer, double precision)' in out, out)
only = role(root, "--only", "crash_note").stdout
check("--only: that folder's grants alone", '"flag", "note"' in only and "SELECT ON TABLE \"atd_txdot_crashes\"" not in only,
      only)
check("--only: the audit grants come with a C handler's UPDATE line too", "atd_txdot_change_log" in only, only)
r = role(root, "--only", "nope")
check("--only an unknown folder is refused", r.returncode == 2 and "nope" in r.stderr, r.stderr)
shutil.rmtree(root)

# 3. Mistakes in a grant line are handlerconf.py's, with file and line.
root = tree({"bad": dict(SQL_HANDLER, **{"handler.conf": "table = t\nkey = k\nvalue = v\n"
                                                         "grant = DELETE ON t\n"})})
r = role(root)
check("a bad grant line is refused with file:line", r.returncode == 1 and "handlers/bad/handler.conf:4" in r.stderr,
      r.stderr)
shutil.rmtree(root)

finish("role_gen")
