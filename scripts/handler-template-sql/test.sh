#!/usr/bin/env bash
# test.sh -- handler @NAME@ against a real PostGIS: its own throwaway server (scripts/db) with the
# sample city and this folder's schema.sql.
# usage: test.sh VZ_EVENTS   (tests/handler_scripts.cmake registers it with ctest)
# TODO: when you change update.sql, change the expected values below to your handler's.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap '"$root/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$root/tests/check.sh"
pg_env=$("$root/scripts/db" start "$tmp/pg") || { echo "FAIL: @NAME@: cannot start PostgreSQL" >&2; exit 1; }
eval "$pg_env"
value() { psql -X -qtA "$DATABASE_URL" -c "SELECT coalesce(jurisdiction_id::text, 'NULL') FROM atd_txdot_crashes WHERE crash_id = $1"; }
payload() { printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":%s}}}}' "$1" >"$tmp/$2.json"; }
payload 13 east
payload 4 nowhere
payload 999 missing
payload '"12a"' bad
queue=atd-vz-data-events-@NAME@_pr_1
ids() { grep -o '"messageId":[[:space:]]*"[^"]*"' "$1" | sed 's/.*"\([^"]*\)"$/\1/'; }

# One batch: the fixture, a crash further east, one without coordinates, one that does not
# exist and a key that is not a number.  Only the last two fail.
"$bin" event --queue "$queue" "$here/fixtures/update.json" "$tmp/east.json" "$tmp/nowhere.json" \
    "$tmp/missing.json" "$tmp/bad.json" >"$tmp/event.json"
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
check "invoke exits 0" test $? -eq 0
mapfile -t id < <(ids "$tmp/event.json")
check "exactly the missing row and the bad key fail" \
    grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"${id[3]}\"},{\"itemIdentifier\":\"${id[4]}\"}\]}" "$tmp/out"
check "the fixture's crash is in jurisdiction 5" test "$(value 1)" = 5
check "crash 13 is in jurisdiction 6" test "$(value 13)" = 6
check "a crash without coordinates stays NULL" test "$(value 4)" = NULL
outcomes() { grep '"outcome":' "$tmp/err" | grep -F '"handler":"@NAME@"'; }
check "every record is routed to @NAME@" test "$(outcomes | wc -l)" -eq 5
check "the missing row is named, in one line" \
    test "$(grep -c 'crash_id 999 does not exist in atd_txdot_crashes' "$tmp/err")" -eq 1
check "the bad key names its field" grep -q 'event.data.new.crash_id' "$tmp/err"

# The same fixture again: nothing to write, the record still succeeds.
"$bin" event --queue "$queue" "$here/fixtures/update.json" >"$tmp/again.json"
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/again.json" >"$tmp/out2" 2>"$tmp/err2"
check "the same event again succeeds" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out2"
check "and writes nothing" grep -q '"wrote":false' "$tmp/err2"
echo "@NAME@: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
