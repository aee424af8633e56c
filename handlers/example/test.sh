#!/usr/bin/env bash
# test.sh -- handler example: any JSON body succeeds, a body that is not JSON fails alone.
# usage: test.sh VZ_EVENTS   (tests/handlers.cmake registers it with ctest)
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../tests/check.sh"
printf '{"id":"a"}' >"$tmp/good.json"
printf 'not json' >"$tmp/bad.txt"
"$bin" event --queue atd-vz-data-events-example_pr_1 "$tmp/good.json" "$tmp/bad.txt" "$tmp/good.json" >"$tmp/event.json"
${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
check "invoke exits 0" test $? -eq 0
second=$(grep -o '"messageId":[[:space:]]*"[^"]*"' "$tmp/event.json" | sed -n 2p | sed 's/.*"\([^"]*\)"$/\1/')
check "only the body that is not JSON fails" \
    grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"$second\"}\]}" "$tmp/out"
check "two records reach example" test "$(grep -c 'example received a message' "$tmp/err")" -eq 2
echo "example: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
