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

# handlers, help, version, usage.
check "handlers lists example" bash -c "'$bin' handlers | grep -qx example"
check "--version" bash -c "'$bin' --version | grep -q '^vz-events [0-9]'"
check "--help" bash -c "'$bin' --help | grep -q 'invoke'"
env -u AWS_LAMBDA_RUNTIME_API "$bin" >/dev/null 2>"$tmp/err"
check "no command, no Runtime API: usage and exit 2" test $? -eq 2
check "usage says how to run locally" grep -q 'Run locally' "$tmp/err"

echo "cli: $pass passed, $fails failed"
test "$fails" -eq 0
