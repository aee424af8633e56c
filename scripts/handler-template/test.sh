#!/usr/bin/env bash
# test.sh -- handler @NAME@: a good payload succeeds, a bad one fails alone.
# usage: test.sh VZ_EVENTS   (tests/handlers.cmake registers it with ctest)
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../tests/check.sh"
printf '{"event":{"op":"DELETE","data":{"old":{"crash_id":1},"new":null}}}' >"$tmp/no-row.json"
"$bin" event --queue atd-vz-data-events-@NAME@_pr_1 "$here/fixtures/update.json" "$tmp/no-row.json" \
    "$here/fixtures/update.json" >"$tmp/event.json"
${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
check "invoke exits 0" test $? -eq 0
second=$(grep -o '"messageId":[[:space:]]*"[^"]*"' "$tmp/event.json" | sed -n 2p | sed 's/.*"\([^"]*\)"$/\1/')
check "only the record without event.data.new fails" \
    grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"$second\"}\]}" "$tmp/out"
check "the failure says why" grep -q 'no event.data.new object' "$tmp/err"
check "routed to @NAME@" grep -q '@NAME@ handled a message' "$tmp/err"
echo "@NAME@: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
