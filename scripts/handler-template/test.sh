#!/usr/bin/env bash
# test.sh -- handler @NAME@: the fixture succeeds, a record without event.data.new fails alone.
# usage: test.sh VZ_EVENTS   (tests/handler_scripts.cmake registers it with ctest)
# These checks are about behaviour any @NAME@ keeps once its logic is written (routing, which
# records fail, what the failure names), not about the template's log text.  When the logic
# needs the database, run the test with DATABASE_URL set (scripts/db start prints it), or start
# a throwaway server here as scripts/handler-template-sql/test.sh does; then add checks of the
# values the handler writes.  A failed check says what it saw.
set -u
bin=${1:?usage: test.sh VZ_EVENTS (the built binary, e.g. build/vz-events)}
here=$(cd "$(dirname "$0")" && pwd)
fixture=$here/fixtures/update.json
if [ ! -f "$fixture" ]; then
    echo "FAIL: @NAME@: the fixture $fixture is missing: put a Hasura event payload there" \
        "(scripts/handler-template/fixtures/update.json is one)" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/../../tests/check.sh"
# expect NAME SAW COMMAND...: a check that, when it fails, prints what it saw
expect() {
    local before=$fails name=$1 saw=$2
    shift 2
    check "$name" "$@"
    [ "$fails" -eq "$before" ] || printf '    saw: %s\n' "$saw" >&2
}
outcomes() { grep '"outcome":' "$tmp/err" | grep -F '"handler":"@NAME@"'; }
printf '{"event":{"op":"DELETE","data":{"old":{"crash_id":1},"new":null}}}' >"$tmp/no-row.json"
if ! "$bin" event --queue atd-vz-data-events-@NAME@_pr_1 "$fixture" "$tmp/no-row.json" "$fixture" \
    >"$tmp/event.json" 2>"$tmp/event.err"; then
    echo "FAIL: @NAME@: vz-events event refused the fixtures: $(cat "$tmp/event.err")" >&2
    exit 1
fi
AWS_LAMBDA_LOG_FORMAT=JSON ${VZ_VALGRIND:-} "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
expect "invoke exits 0" "status $rc; its last lines: $(tail -n 3 "$tmp/err")" test $rc -eq 0
second=$(grep -o '"messageId":[[:space:]]*"[^"]*"' "$tmp/event.json" | sed -n 2p | sed 's/.*"\([^"]*\)"$/\1/')
expect "only the record without event.data.new ($second) fails" "the answer $(cat "$tmp/out"); the outcomes:
$(outcomes)" grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"$second\"}\]}" "$tmp/out"
# The runtime's outcome line of every record names the handler that ran it.
expect "all three records are routed to @NAME@" "$(outcomes | wc -l) outcome lines name @NAME@; the log:
$(grep '"outcome":' "$tmp/err")" test "$(outcomes | wc -l)" -eq 3
expect "the failure names event.data.new" "$(grep '"outcome":"failed"' "$tmp/err")" \
    bash -c 'grep "\"outcome\":\"failed\"" "$1" | grep -q "event.data.new"' _ "$tmp/err"
echo "@NAME@: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
