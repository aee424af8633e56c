#!/usr/bin/env bash
# handlers_schema_test.sh -- every handler's statements prepared on a real schema, without naming any.
#
# usage: handlers_schema_test.sh VZ_EVENTS SOURCE_DIR
# Starts a throwaway PostgreSQL + PostGIS (scripts/db: db/schema.sql, every handlers/*/schema.sql,
# the sample city) and runs `vz-events check`: each handler with a row rule (SQL-only, or C with
# .rowsync) has its lock and work statements prepared and described, the answer compared with
# the rule; a failure names the file and the column.  The list of handlers checked is the
# binary's own, so that a new folder is checked as soon as it is built.
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap '"$src/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$src/tests/check.sh"
pg_env=$("$src/scripts/db" start "$tmp/pg") || { echo "FAIL: cannot start PostgreSQL (scripts/db)" >&2; exit 1; }
eval "$pg_env"
"$bin" check >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
check "vz-events check: every handler's statements fit the schema and the rule" test $rc -eq 0
# As many handlers checked as the binary has row rules: none skipped.
expected=$(grep -l '\.rowsync\s*=' "$src"/handlers/*/handler.c 2>/dev/null | wc -l)
expected=$((expected + $(ls "$src"/handlers/*/update.sql 2>/dev/null | while read -r f; do
    [ -e "$(dirname "$f")/handler.c" ] || echo "$f"; done | wc -l)))
check "every handler folder with a row rule is checked ($expected)" grep -qx "check: $expected handler(s), 0 problem(s)" "$tmp/out"
echo "handlers_schema: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
