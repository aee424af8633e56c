#!/usr/bin/env bash
# cli_test.sh -- the vz-events command line as a user runs it (no server needed).
# usage: cli_test.sh VZ_EVENTS FIXTURES_DIR
set -u
bin=$1
run() { ${VZ_VALGRIND:-} "$bin" "$@"; }
fx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"

# A batch of 10 where records 3 and 7 are bad: exactly those two are reported.
run invoke "$fx/sqs-batch.json" >"$tmp/out" 2>"$tmp/err"
check "batch exit 0" test $? -eq 0
check "batch reports records 3 and 7" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"},{"itemIdentifier":"00000007-0000-4000-8000-000000000007"}\]}' "$tmp/out"
check "eight records processed" test "$(grep -c 'example received a message' "$tmp/err")" -eq 8
check "unroutable queue named in the log" grep -q 'queue "atd-vz-data-events-no_such_handler_staging" matches no handler' "$tmp/err"
check "no body in the log" bash -c "! grep -q 'update_crash_location_on_lat_lon_change' '$tmp/err'"

# JSON logs are one object per line with Lambda's fields.
AWS_LAMBDA_LOG_FORMAT=JSON run invoke "$fx/sqs-batch.json" >"$tmp/out" 2>"$tmp/err"
check "json log lines parse" node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
  let outcomes = 0;
  for (const l of lines) { const o = JSON.parse(l);
    if (!o.timestamp || !o.level || !o.message || !o.requestId) process.exit(1);
    if (o.outcome) { outcomes++; if (!o.messageId || !o.handler && o.outcome === "succeeded" || typeof o.durationMs !== "number") process.exit(1); } }
  process.exit(outcomes === 10 ? 0 : 1);' "$tmp/err"
AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=ERROR run invoke "$fx/sqs-batch.json" >"$tmp/out" 2>"$tmp/err"
check "log level filters" test "$(grep -c . "$tmp/err")" -eq 2

# FIFO: the first failure and every later record.
run invoke "$fx/sqs-fifo.json" >"$tmp/out" 2>/dev/null
check "fifo stops at first failure" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000002-0000-4000-8000-000000000002"},{"itemIdentifier":"00000003-0000-4000-8000-000000000003"},{"itemIdentifier":"00000004-0000-4000-8000-000000000004"}\]}' "$tmp/out"

# Empty, wrong types, non-ASCII, a 256 KiB body.
run invoke "$fx/sqs-empty.json" >"$tmp/out" 2>/dev/null
check "empty batch" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out"
run invoke "$fx/sqs-wrong-types.json" >"$tmp/out" 2>"$tmp/err"
check "wrong types fail alone" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"wrong-body-type"},{"itemIdentifier":"wrong-attribute-types"},{"itemIdentifier":"wrong-arn-type"},{"itemIdentifier":"wrong-source"}\]}' "$tmp/out"
check "wrong type explained" grep -q 'attributes.ApproximateReceiveCount is a number, expected a decimal string' "$tmp/err"
run invoke "$fx/sqs-non-ascii.json" >"$tmp/out" 2>/dev/null
check "non-ascii bodies" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"}\]}' "$tmp/out"
run invoke "$fx/sqs-large-body.json" >"$tmp/out" 2>"$tmp/err"
check "256 KiB body" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out"
check "256 KiB body size logged" grep -q 'bodyBytes=262144' "$tmp/err"

# stdin, --handler, rejected events, unreadable files.
run invoke - <"$fx/sqs-batch.json" >"$tmp/out" 2>/dev/null
check "stdin" grep -q '00000007' "$tmp/out"
run invoke --handler example "$fx/sqs-batch.json" >"$tmp/out" 2>/dev/null
check "--handler routes the unmatched queue" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"}\]}' "$tmp/out"
run invoke "$fx/not-sqs.json" >"$tmp/out" 2>"$tmp/err"
check "not SQS exits 1" test $? -eq 1
check "not SQS is Function.InvalidEvent" grep -q '"errorType":"Function.InvalidEvent"' "$tmp/out"
run invoke "$tmp/missing.json" >/dev/null 2>"$tmp/err"
check "missing file exits 2" test $? -eq 2
check "missing file explained" grep -q 'cannot open' "$tmp/err"
run invoke --handler nope "$fx/sqs-batch.json" >/dev/null 2>"$tmp/err"
check "unknown --handler exits 2" test $? -eq 2
_HANDLER=nope ${VZ_VALGRIND:-} "$bin" invoke "$fx/sqs-batch.json" >/dev/null 2>"$tmp/err"
check "unknown _HANDLER rejected" grep -q 'names no handler' "$tmp/err"

# event: from a Hasura payload to an invocable fixture in one step.
run event --queue atd-vz-data-events-example_pr_845 "$fx/hasura/crash-update.json" "$fx/hasura/crash-update.json" >"$tmp/ev.json"
check "event exit 0" test $? -eq 0
run invoke "$tmp/ev.json" >"$tmp/out" 2>/dev/null
check "generated event invokes cleanly" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out"
check "generated md5OfBody is right" node -e '
  const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const crypto = require("crypto");
  if (ev.Records.length !== 2) process.exit(1);
  for (const r of ev.Records) if (crypto.createHash("md5").update(r.body, "utf8").digest("hex") !== r.md5OfBody) process.exit(1);' "$tmp/ev.json"
run event --queue 'bad/queue' "$fx/hasura/crash-update.json" >/dev/null 2>&1
check "event rejects a bad queue name" test $? -eq 2

# event's warnings and errors: each says what is wrong, nothing unrelated.
run event --queue atd-vz-data-events-example_pr_1 "$tmp/no-such-body.json" >/dev/null 2>"$tmp/err"
check "event on a missing file exits 2" test $? -eq 2
check "event on a missing file says so" grep -q "cannot open $tmp/no-such-body.json: No such file" "$tmp/err"
check "without the 256 KiB note" bash -c '! grep -q "256 KiB" "$1"' _ "$tmp/err"
head -c 262145 /dev/zero | tr '\0' 'x' >"$tmp/big.json"
run event --queue atd-vz-data-events-example_pr_1 "$tmp/big.json" >/dev/null 2>"$tmp/err"
check "event on a body over 256 KiB exits 2 with the note" bash -c '[ "$2" -eq 2 ] && grep -q "at most 256 KiB" "$1"' _ "$tmp/err" $?
printf 'not json' >"$tmp/not-json.txt"
run event --queue atd-vz-data-events-example_pr_1 "$tmp/not-json.txt" >"$tmp/ev.json" 2>"$tmp/err"
check "event on a body that is not JSON still wraps it (exit 0)" test $? -eq 0
check "and warns that it is not JSON" grep -q "warning: $tmp/not-json.txt is not JSON (error near byte 0)" "$tmp/err"
run event --queue atd-vz-data-events-example_pr_1 "$fx/hasura/crash-update.json" >/dev/null 2>"$tmp/err"
check "a JSON body for a known queue: no warning" test ! -s "$tmp/err"
run event --queue atd-vz-data-events-no_such_handler_pr_1 "$fx/hasura/crash-update.json" >/dev/null 2>"$tmp/err"
check "event warns when the queue matches no handler" \
    grep -q 'warning: queue "atd-vz-data-events-no_such_handler_pr_1" matches no handler built in' "$tmp/err"
run event --queue atd-vz-data-events-crash_update_jurisdiction_pr_1 "$fx/not-sqs.json" >/dev/null 2>"$tmp/err"
check "event warns when a rowsync handler's body is not a Hasura payload" \
    grep -q 'has no "event" object.*crash_update_jurisdiction takes its key from event.data.new' "$tmp/err"

# invoke given a Hasura payload (not an SQS event) says how to wrap it.
run invoke "$fx/hasura/crash-update.json" >/dev/null 2>"$tmp/err"
check "invoke on a Hasura payload exits 1" test $? -eq 1
check "and says to wrap it with vz-events event" \
    grep -q "is a Hasura event payload, not an SQS event; wrap it into one first" "$tmp/err"
check "with the command to run" grep -q "vz-events event --queue atd-vz-data-events-<handler>_local $fx/hasura/crash-update.json" "$tmp/err"
run invoke "$fx/not-sqs.json" >/dev/null 2>"$tmp/err"
check "invoke on another event gives no Hasura hint" bash -c '! grep -q "Hasura" "$1"' _ "$tmp/err"

# handlers, help, version, usage.
run handlers --help >"$tmp/out" 2>"$tmp/err"
check "handlers --help exits 0" test $? -eq 0
check "handlers --help prints its usage" grep -q '^usage: vz-events handlers' "$tmp/out"
run handlers extra >/dev/null 2>&1
check "handlers with an argument exits 2" test $? -eq 2
check "handlers lists example" bash -c "'$bin' handlers | grep -qx example"
check "--version" bash -c "'$bin' --version | grep -q '^vz-events [0-9]'"
check "--help" bash -c "'$bin' --help | grep -q 'invoke'"
env -u AWS_LAMBDA_RUNTIME_API "$bin" >/dev/null 2>"$tmp/err"
check "no command, no Runtime API: usage and exit 2" test $? -eq 2
check "usage says how to run locally" grep -q 'Run locally' "$tmp/err"
check "and that AWS_LAMBDA_RUNTIME_API is not set" grep -q '^vz-events: AWS_LAMBDA_RUNTIME_API is not set' "$tmp/err"
AWS_LAMBDA_RUNTIME_API= "$bin" >/dev/null 2>"$tmp/err"
check "an empty AWS_LAMBDA_RUNTIME_API: exit 2, says it is empty" \
    bash -c '[ "$2" -eq 2 ] && grep -q "AWS_LAMBDA_RUNTIME_API is empty" "$1"' _ "$tmp/err" $?

echo "cli: $pass passed, $fails failed"
test "$fails" -eq 0
