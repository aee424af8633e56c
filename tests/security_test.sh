#!/usr/bin/env bash
# security_test.sh -- what reaches the logs from hostile events (no server needed).
# usage: security_test.sh VZ_EVENTS FIXTURES_DIR
#
# - No log line ever holds a whole body: fixtures/sqs-marked-bodies.json has a
#   marker in bodies that succeed, fail to parse, go nowhere, or belong to
#   invalid records; events generated here carry a marker made for this run.
#   The marker must be absent from stdout and stderr, at every log level, in
#   both log formats.
# - Queue names with CR/LF or path characters are refused, and a value
#   holding CR/LF cannot forge a log line.
set -u
bin=$1
fx=$2
run() { ${VZ_VALGRIND:-} "$bin" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
absent() { ! grep -q -- "$1" "$2"; }
all_lines_match() { ! grep -qvE -- "$1" "$2"; }

fixed_marker=VZBODYMARKER-5e1d2c
check "the fixture holds the marker" grep -q "$fixed_marker" "$fx/sqs-marked-bodies.json"
for fmt in TEXT JSON; do
    AWS_LAMBDA_LOG_FORMAT=$fmt AWS_LAMBDA_LOG_LEVEL=TRACE run invoke "$fx/sqs-marked-bodies.json" >"$tmp/out" 2>"$tmp/err"
    check "$fmt: marked batch exit 0" test $? -eq 0
    check "$fmt: marked records 2-8 fail alone" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"marked-2"},{"itemIdentifier":"marked-3"},{"itemIdentifier":"marked-4"},{"itemIdentifier":"marked-5"},{"itemIdentifier":"marked-6"},{"itemIdentifier":"marked-7"},{"itemIdentifier":"marked-8"}\]}' "$tmp/out"
    check "$fmt: every record logged" test "$(grep -c 'messageId.*marked-' "$tmp/err")" -ge 8
    check "$fmt: no body in the log" absent "$fixed_marker" "$tmp/err"
    check "$fmt: no body on stdout" absent "$fixed_marker" "$tmp/out"
    check "$fmt: no raw CR in the log" absent $'\r' "$tmp/err"
    if [ $fmt = TEXT ]; then
        # A TEXT line is a text log line, or a metrics object of its own (Embedded Metric Format).
        check "TEXT: every line is a log line (none forged)" all_lines_match '^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) |\{"timestamp":"[^"]*","level":"INFO","message":"metrics: [a-z]+",.*"_aws":\{"CloudWatchMetrics":.*\}$)' "$tmp/err"
        check "TEXT: the metrics lines parse" node -e '
          for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) if (l[0] === "{") JSON.parse(l);' "$tmp/err"
        check "TEXT: the CR/LF of the queue is shown escaped" grep -q 'example\\r\\n2026-01-01T00:00:00.000Z INFO  forged line" names no queue' "$tmp/err"
    else
        check "JSON: every line is one object (none forged)" all_lines_match '^\{"timestamp":".*\}$' "$tmp/err"
        check "JSON: lines parse" node -e '
          for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) JSON.parse(l);' "$tmp/err"
    fi
done

# A marker made for this run, in bodies built by `vz-events event`, and in an event that is not JSON.
marker="VZRUN-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '{"event":{"op":"INSERT","data":{"new":{"crash_id":7,"secret":"%s"}}}}\n' "$marker" >"$tmp/good.json"
printf 'not json at all %s\n' "$marker" >"$tmp/bad.json"
run event --queue atd-vz-data-events-example_staging "$tmp/good.json" "$tmp/bad.json" >"$tmp/ev.json"
check "event builds the marked batch" test $? -eq 0
check "the generated event holds the marker" grep -q "$marker" "$tmp/ev.json"
for fmt in TEXT JSON; do
    AWS_LAMBDA_LOG_FORMAT=$fmt AWS_LAMBDA_LOG_LEVEL=TRACE run invoke "$tmp/ev.json" >"$tmp/out" 2>"$tmp/err"
    check "$fmt: generated batch runs" grep -q '"batchItemFailures":\[{"itemIdentifier"' "$tmp/out"
    check "$fmt: run marker absent from the log" absent "$marker" "$tmp/err"
    { printf '{"Records": "%s' "$marker"; } >"$tmp/broken.json"
    AWS_LAMBDA_LOG_FORMAT=$fmt run invoke "$tmp/broken.json" >"$tmp/out" 2>"$tmp/err"
    check "$fmt: broken event rejected" test $? -eq 1
    check "$fmt: broken event not echoed" absent "$marker" "$tmp/err"
    check "$fmt: broken event not echoed on stdout" absent "$marker" "$tmp/out"
done

# Queue names from the command line: CR/LF, path characters, too long.
for q in $'q\r\nINFO forged' '../../etc/passwd' 'a/b' 'q:1' 'q name' "$(printf 'q%.0s' {1..81})"; do
    run event --queue "$q" "$tmp/good.json" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    shown=$(printf '%q' "$q" | cut -c1-20)
    check "event --queue refuses $shown" test $rc -eq 2
    check "event --queue explains $shown" grep -q 'is not an SQS queue name' "$tmp/err"
    check "nothing printed for $shown" test ! -s "$tmp/out"
done
run event --queue "atd-vz-data-events-example_pr_845.fifo" "$tmp/good.json" >"$tmp/out" 2>"$tmp/err"
check "a FIFO queue name is accepted" test $? -eq 0

echo "security: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
