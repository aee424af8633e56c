#!/usr/bin/env bash
# test.sh -- handler @NAME@: the fixture succeeds, a record without event.data.new fails alone.
# usage: test.sh VZ_EVENTS   (tests/handler_scripts.cmake registers it with ctest)
# These checks are about behaviour any @NAME@ keeps once its logic is written (routing, which
# records fail, what the failure names), not about the template's log text.  When the logic
# needs the database, run the test with DATABASE_URL set (scripts/db start prints it), or start
# a throwaway server here as scripts/handler-template-sql/test.sh does; then add checks of the
# values the handler writes.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../tests/check.sh"
printf '{"event":{"op":"DELETE","data":{"old":{"crash_id":1},"new":null}}}' >"$tmp/no-row.json"
"$bin" event --queue atd-vz-data-events-@NAME@_pr_1 "$here/fixtures/update.json" "$tmp/no-row.json" \
    "$here/fixtures/update.json" >"$tmp/event.json"
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
check "invoke exits 0" test $? -eq 0
second=$(grep -o '"messageId":[[:space:]]*"[^"]*"' "$tmp/event.json" | sed -n 2p | sed 's/.*"\([^"]*\)"$/\1/')
check "only the record without event.data.new fails" \
    grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"$second\"}\]}" "$tmp/out"
# The runtime's outcome line of every record names the handler that ran it.
outcomes() { grep '"outcome":' "$tmp/err" | grep -F '"handler":"@NAME@"'; }
check "all three records are routed to @NAME@" test "$(outcomes | wc -l)" -eq 3
check "the failure names event.data.new" bash -c 'grep "\"outcome\":\"failed\"" "$1" | grep -q "event.data.new"' _ "$tmp/err"
echo "@NAME@: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
