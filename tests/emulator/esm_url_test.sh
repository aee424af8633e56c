#!/usr/bin/env bash
# esm_url_test.sh -- vz-emulator's SQS event source mapping and function URL front, against a real SQS server.
# usage: esm_url_test.sh SOURCE_DIR BUILD_DIR
#
# Server: its own local-aws-sqs (scripts/sqs-server); runtime: scripted_runtime.sh,
# which records each event and answers what the test scripted, so that the exact
# event the emulator builds and what it does with each kind of answer are seen.
#   ESM: the SQS event has every field Lambda gives a record, with the right
#   values; an invocation error and an answer naming an unknown itemIdentifier
#   leave the whole batch; batchItemFailures leave exactly those; the rest is
#   deleted once.
#   URL: a binary body arrives base64-encoded, a JSON one as text, headers in
#   lower case, the query parsed; a response object sets status, headers and a
#   base64 body; any other answer is a 200 JSON body; a function error is 502.
set -u
src=$1
build=$2
tmp=$(mktemp -d /tmp/vz-esm.XXXXXX)
emu_pid=
cleanup() {
    [ -n "$emu_pid" ] && kill -TERM "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    "$src/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/../check.sh"
wait_for() { # wait_for FILE: up to 30 s
    for _ in $(seq 1 300); do [ -e "$1" ] && return 0; sleep 0.1; done
    return 1
}

if ! "$src/scripts/sqs-server" start "$tmp/sqs" >"$tmp/env" 2>"$tmp/sqs.log"; then
    echo "FAIL: local-aws-sqs did not start" >&2
    cat "$tmp/sqs.log" >&2
    exit 1
fi
set -a
# shellcheck disable=SC1091
. "$tmp/env"
set +a
sqs() { # sqs ACTION JSON
    curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: AmazonSQS.$1" -d "$2" "$AWS_ENDPOINT_URL_SQS/"
}
field() { node -e 'let v = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const k of process.argv[1].split(".")) v = v[k]; console.log(v)' "$1"; }
queue=vz-esm-test
qurl=$(sqs CreateQueue "{\"QueueName\":\"$queue\",\"Attributes\":{\"VisibilityTimeout\":\"30\"}}" | field QueueUrl)
send() { sqs SendMessage "{\"QueueUrl\":\"$qurl\",\"MessageBody\":$1${2:+,\"MessageAttributes\":$2}}" | field MessageId; }
count() {
    sqs GetQueueAttributes "{\"QueueUrl\":\"$qurl\",\"AttributeNames\":[\"All\"]}" | node -e '
      const a = JSON.parse(require("fs").readFileSync(0, "utf8")).Attributes;
      console.log(+a.ApproximateNumberOfMessages + +a.ApproximateNumberOfMessagesNotVisible + +a.ApproximateNumberOfMessagesDelayed)'
}

# Three messages, one with a message attribute, queued before the mapping starts.
idA=$(send '"{\"n\":\"A\"}"' '{"trace":{"DataType":"String","StringValue":"abc"}}')
idB=$(send '"{\"n\":\"B\"}"')
idC=$(send '"plain text C"')
rt=$tmp/rt
mkdir -p "$rt"
echo ERROR >"$rt/answer.1"                                                  # invocation error
echo '{"batchItemFailures":[{"itemIdentifier":"not-in-the-batch"}]}' >"$rt/answer.2" # unknown id
echo "{\"batchItemFailures\":[{\"itemIdentifier\":\"$idB\"}]}" >"$rt/answer.3"     # B fails alone
echo '{"batchItemFailures":[]}' >"$rt/answer.4"                            # B succeeds

"$build/vz-emulator" --port 0 --url-port 0 --url-port-file "$tmp/url.port" --timeout 10 --sqs-queue "$queue" \
    --sqs-wait 2 --sqs-visibility 3 --sqs-window 1 -- bash "$src/tests/emulator/scripted_runtime.sh" "$rt" \
    >"$tmp/emulator.log" 2>&1 &
emu_pid=$!
check "function URL port written" wait_for "$tmp/url.port"

for n in 1 2 3 4; do check "invocation $n" wait_for "$rt/done.$n"; done
queue_empty() { # up to 20 s: the mapping deletes B once its answer is in
    for _ in $(seq 1 100); do [ "$(count)" -eq 0 ] && return 0; sleep 0.2; done
    return 1
}
check "queue empty after B succeeded" queue_empty
# No fifth invocation: B is gone, and the queue is polled for longer than one window.
sleep 2
check "no fifth SQS invocation" test ! -e "$rt/event.5"

# The event exactly as Lambda builds it.
check "event 1 is Lambda's SQS event" node -e '
  const fs = require("fs"), crypto = require("crypto");
  const [file, a, b, c, q, region] = process.argv.slice(1);
  const ev = JSON.parse(fs.readFileSync(file, "utf8"));
  const fail = (m) => { console.error(m); process.exit(1); };
  if (Object.keys(ev).join() !== "Records" || ev.Records.length !== 3) fail("not 3 records");
  const ids = ev.Records.map((r) => r.messageId).sort().join();
  if (ids !== [a, b, c].sort().join()) fail("ids " + ids);
  for (const r of ev.Records) {
    const keys = Object.keys(r).sort().join();
    const want = r.messageId === a
      ? "attributes,awsRegion,body,eventSource,eventSourceARN,md5OfBody,md5OfMessageAttributes,messageAttributes,messageId,receiptHandle"
      : "attributes,awsRegion,body,eventSource,eventSourceARN,md5OfBody,messageAttributes,messageId,receiptHandle";
    if (keys !== want) fail("keys " + keys);
    if (!r.receiptHandle) fail("receiptHandle");
    if (r.md5OfBody !== crypto.createHash("md5").update(r.body).digest("hex")) fail("md5OfBody");
    if (r.eventSource !== "aws:sqs" || r.awsRegion !== region) fail("source/region");
    if (r.eventSourceARN !== `arn:aws:sqs:${region}:000000000000:${q}`) fail("arn " + r.eventSourceARN);
    const at = r.attributes;
    if (at.ApproximateReceiveCount !== "1" || !/^[0-9]{13}$/.test(at.SentTimestamp) ||
        !/^[0-9]{13}$/.test(at.ApproximateFirstReceiveTimestamp) || typeof at.SenderId !== "string") fail("attributes " + JSON.stringify(at));
    if (r.messageId === a) {
      if (JSON.stringify(r.messageAttributes) !== JSON.stringify({trace: {stringValue: "abc", stringListValues: [], binaryListValues: [], dataType: "String"}})) fail("messageAttributes");
      if (!/^[0-9a-f]{32}$/.test(r.md5OfMessageAttributes)) fail("md5OfMessageAttributes");
      if (r.body !== "{\"n\":\"A\"}") fail("body A");
    } else if (JSON.stringify(r.messageAttributes) !== "{}") fail("empty messageAttributes");
    if (r.messageId === c && r.body !== "plain text C") fail("body C");
  }' "$rt/event.1" "$idA" "$idB" "$idC" "$queue" "$AWS_REGION"
receives() { node -e '
  const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(ev.Records.map((r) => r.messageId + ":" + r.attributes.ApproximateReceiveCount).sort().join(" "))' "$1"; }
sorted() { tr ' ' '\n' <<<"$*" | sort | tr '\n' ' ' | sed 's/ $//'; }
check "invocation error left the whole batch" test "$(receives "$rt/event.2")" = "$(sorted "$idA:2" "$idB:2" "$idC:2")"
check "unknown itemIdentifier left the whole batch" test "$(receives "$rt/event.3")" = "$(sorted "$idA:3" "$idB:3" "$idC:3")"
check "only the failed item came back" test "$(receives "$rt/event.4")" = "$idB:4"
check "mapping logged the whole-batch failures" test "$(grep -c 'failed as a whole' "$tmp/emulator.log")" -eq 2
check "mapping logged 2 deleted, 1 left" grep -q 'SQS batch of 3 ([^)]*): 2 deleted, 1 left for redelivery' "$tmp/emulator.log"

# The function URL front.
url=http://127.0.0.1:$(cat "$tmp/url.port")
echo '{"statusCode":418,"headers":{"x-test":"yes","content-type":"text/plain"},"body":"aGVsbG8=","isBase64Encoded":true}' >"$rt/answer.5"
printf '\x00\x01\xfe\xff' >"$tmp/binary"
code=$(curl -sS -o "$tmp/out5" -D "$tmp/hdr5" -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
    -H 'X-Custom-Header: One' --data-binary @"$tmp/binary" "$url/some/path?a=1&b=two")
check "response object status" test "$code" = 418
check "response object body decoded" test "$(cat "$tmp/out5")" = hello
check "response object header" grep -qi '^x-test: yes' "$tmp/hdr5"
check "binary request body arrives base64" node -e '
  const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = ev.version === "2.0" && ev.isBase64Encoded === true &&
    Buffer.from(ev.body, "base64").equals(Buffer.from([0, 1, 0xfe, 0xff])) &&
    ev.rawPath === "/some/path" && ev.requestContext.http.method === "POST" &&
    ev.requestContext.http.path === "/some/path" && ev.headers["x-custom-header"] === "One" &&
    ev.headers["content-type"] === "application/octet-stream" &&
    ev.queryStringParameters.a === "1" && ev.queryStringParameters.b === "two" && ev.rawQueryString === "a=1&b=two";
  process.exit(ok ? 0 : 1);' "$rt/event.5"
echo '{"hello":"world"}' >"$rt/answer.6"
code=$(curl -sS -o "$tmp/out6" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '{"k":1}' "$url/events/")
check "plain answer is a 200 JSON body" test "$code" = 200
check "plain answer body" grep -qx '{"hello":"world"}' "$tmp/out6"
check "JSON request body arrives as text" node -e '
  const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  process.exit(ev.isBase64Encoded === false && ev.body === "{\"k\":1}" && ev.requestContext.http.method === "PUT" ? 0 : 1);' "$rt/event.6"
echo ERROR >"$rt/answer.7"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$url/events/")
check "function error is 502" test "$code" = 502

echo "esm_url: $pass passed, $fails failed"
if [ $fails -ne 0 ]; then tail -40 "$tmp/emulator.log" >&2; fi
[ $fails -eq 0 ]
