#!/usr/bin/env bash
# test.sh -- handler @NAME@ against a real PostGIS: its own throwaway server (scripts/db) with the
# sample city and this folder's schema.sql.  A failed check says what it saw.
# usage: test.sh VZ_EVENTS   (tests/handler_scripts.cmake registers it with ctest)
# TODO: when you change update.sql, change the expected values below to your handler's.
set -u
bin=${1:?usage: test.sh VZ_EVENTS (the built binary, e.g. build/vz-events)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fixture=$here/fixtures/update.json
if [ ! -f "$fixture" ]; then
    echo "FAIL: @NAME@: the fixture $fixture is missing: put a Hasura event payload for a row of the" \
        "sample city there (scripts/handler-template-sql/fixtures/update.json is one)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap '"$root/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$root/tests/check.sh"
# expect NAME SAW COMMAND...: a check that, when it fails, prints what it saw
expect() {
    local before=$fails name=$1 saw=$2
    shift 2
    check "$name" "$@"
    [ "$fails" -eq "$before" ] || printf '    saw: %s\n' "$saw" >&2
}
pg_env=$("$root/scripts/db" start "$tmp/pg" 2>"$tmp/db.err") ||
    { echo "FAIL: @NAME@: cannot start PostgreSQL (scripts/db): $(tail -n 5 "$tmp/db.err")" >&2; exit 1; }
eval "$pg_env"
value() { psql -X -qtA "$DATABASE_URL" -c "SELECT coalesce(jurisdiction_id::text, 'NULL') FROM atd_txdot_crashes WHERE crash_id = $1"; }
# expect_value CRASH WANT WHAT: the crash's value is WANT
expect_value() {
    local got
    got=$(value "$1" 2>&1)
    expect "$3" "crash $1 has $got, expected $2" test "$got" = "$2"
}
payload() { printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":%s}}}}' "$1" >"$tmp/$2.json"; }
payload 13 east
payload 4 nowhere
payload 999 missing
payload '"12a"' bad
queue=atd-vz-data-events-@NAME@_pr_1
ids() { grep -o '"messageId":[[:space:]]*"[^"]*"' "$1" | sed 's/.*"\([^"]*\)"$/\1/'; }
outcomes() { grep '"outcome":' "$tmp/err" | grep -F '"handler":"@NAME@"'; }

# One batch: the fixture, a crash further east, one without coordinates, one that does not
# exist and a key that is not a number.  Only the last two fail.
if ! "$bin" event --queue "$queue" "$fixture" "$tmp/east.json" "$tmp/nowhere.json" "$tmp/missing.json" \
    "$tmp/bad.json" >"$tmp/event.json" 2>"$tmp/event.err"; then
    echo "FAIL: @NAME@: vz-events event refused the fixtures: $(cat "$tmp/event.err")" >&2
    exit 1
fi
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
expect "invoke exits 0" "status $rc; its last lines: $(tail -n 3 "$tmp/err")" test $rc -eq 0
mapfile -t id < <(ids "$tmp/event.json")
expect "exactly the missing row and the bad key fail" "the answer $(cat "$tmp/out"); the failures:
$(grep '"outcome":"failed"' "$tmp/err")" \
    grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"${id[3]:-}\"},{\"itemIdentifier\":\"${id[4]:-}\"}\]}" "$tmp/out"
expect_value 1 5 "the fixture's crash is in jurisdiction 5"
expect_value 13 6 "crash 13 is in jurisdiction 6"
expect_value 4 NULL "a crash without coordinates stays NULL"
expect "every record is routed to @NAME@" "$(outcomes | wc -l) outcome lines name @NAME@" test "$(outcomes | wc -l)" -eq 5
expect "the missing row is named, in one line" "$(grep -c 'crash_id 999' "$tmp/err") lines name crash_id 999" \
    test "$(grep -c 'crash_id 999 does not exist in atd_txdot_crashes' "$tmp/err")" -eq 1
expect "the bad key names its field" "$(grep '"outcome":"failed"' "$tmp/err")" grep -q 'event.data.new.crash_id' "$tmp/err"

# The same fixture again: nothing to write, the record still succeeds.
"$bin" event --queue "$queue" "$fixture" >"$tmp/again.json"
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/again.json" >"$tmp/out2" 2>"$tmp/err2"
expect "the same event again succeeds" "the answer $(cat "$tmp/out2"); the outcome: $(grep '"outcome":' "$tmp/err2")" \
    grep -qx '{"batchItemFailures":\[\]}' "$tmp/out2"
expect "and writes nothing" "$(grep '"wrote"' "$tmp/err2")" grep -q '"wrote":false' "$tmp/err2"
echo "@NAME@: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
