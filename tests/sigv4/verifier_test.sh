#!/usr/bin/env bash
# verifier_test.sh -- the SigV4 check in front of the local SQS server refuses what AWS refuses, and our
# requests pass it.
# usage: verifier_test.sh SOURCE_DIR VZ_EVENTS
#
# Servers: scripts/sqs-server (local-aws-sqs behind tools/sigv4-verifier, botocore's signer), started
# here with a session token required.  The client is the real one: `vz-events dlq list`, whose
# GetQueueUrl and ReceiveMessage go through src/sqs_client.c and src/sigv4.c as the endpoint's and the
# emulator's do.  Each refusal must be the verifier's (its log names the code) and must reach the
# user as the service's code, never a bare SQS.HttpError, without the session token or the canonical
# request the verifier quotes after its message's first line.
set -u
src=$1
vz=$2
tmp=$(mktemp -d /tmp/vz-sigv4.XXXXXX)
relay_pid=
cleanup() {
    [ -n "$relay_pid" ] && kill -TERM "$relay_pid" 2>/dev/null
    "$src/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/../check.sh"

token=IQoJb3JpZ2luX2VjE-test-session-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
if ! VZ_SQS_SESSION_TOKEN=$token "$src/scripts/sqs-server" start "$tmp/sqs" atd-vz-data-events-crash_update_location_local >"$tmp/env" 2>"$tmp/sqs.log"; then
    echo "FAIL: scripts/sqs-server did not start" >&2
    cat "$tmp/sqs.log" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "$tmp/env"
log=$tmp/sqs/verifier.log
q=atd-vz-data-events-deadletter_local

# run NAME [VAR=VALUE...]: vz-events dlq list with that environment; output in $tmp/NAME.{out,err,rc}
run() {
    local name=$1
    shift
    : >"$log.mark"
    wc -l <"$log" >"$log.mark"
    env "$@" "$vz" dlq list --queue "$q" >"$tmp/$name.out" 2>"$tmp/$name.err"
    echo $? >"$tmp/$name.rc"
}
jq_ok() { jq -e "$1" "$2" >/dev/null; } # jq_ok FILTER FILE: the filter holds, quietly
new_lines() { tail -n +"$(($(cat "$log.mark") + 1))" "$log"; }
# refused NAME CODE: the command failed, the verifier refused it with CODE, the user is told CODE
refused() {
    local name=$1 code=$2
    check "$name: vz-events exits non-zero" test "$(cat "$tmp/$name.rc")" != 0
    check "$name: the verifier refused it ($code)" \
        bash -c "[ \"\$(tail -n +$(($(cat "$log.mark") + 1)) '$log' | jq -rs 'map(select(.verdict == \"refused\")) | .[0].code')\" = '$code' ]"
    check "$name: the error names $code" grep -q "$code" "$tmp/$name.err"
    check "$name: never a bare SQS.HttpError" bash -c "! grep -q 'SQS.HttpError' '$tmp/$name.err'"
    check "$name: no session token and no canonical request in the output" \
        bash -c "! grep -q -e '$token' -e 'Canonical String' -e 'x-amz-date:' '$tmp/$name.err' '$tmp/$name.out'"
}

# 1. Our signature, with the session token: every request verified.
run good
check "good: vz-events dlq list succeeds" test "$(cat "$tmp/good.rc")" = 0
check "good: it made requests" test "$(new_lines | grep -c .)" -ge 2
check "good: every request verified (GetQueueUrl, ReceiveMessage)" \
    bash -c "[ \"\$(tail -n +$(($(cat "$log.mark") + 1)) '$log' | jq -rs 'map(.verdict) | unique | join(\",\")')\" = verified ]"
check "good: the dead-letter queue listed" grep -q "^$q: 0 messages" "$tmp/good.out"

# 2. A wrong secret.
run wrong_secret AWS_SECRET_ACCESS_KEY=not-the-secret
refused wrong_secret SignatureDoesNotMatch

# 3. A wrong region: the credential scope names another region.
run wrong_region AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
refused wrong_region SignatureDoesNotMatch
check "wrong_region: the verifier says which region" bash -c "grep -q \"Expected 'us-east-1', not 'eu-west-1'\" '$log'"

# 4. The session token missing.
run no_token -u AWS_SESSION_TOKEN
refused no_token InvalidClientTokenId

# 5. Another access key id.
run wrong_key AWS_ACCESS_KEY_ID=AKIAOTHERKEY
refused wrong_key InvalidClientTokenId

# 6. The body changed after signing (a relay swaps one letter's case).
/usr/bin/python3 -B "$(dirname "$0")/tamper.py" "$AWS_ENDPOINT_URL_SQS" "$tmp/relay.port" 2>"$tmp/relay.log" &
relay_pid=$!
for _ in $(seq 100); do [ -s "$tmp/relay.port" ] && break; sleep 0.1; done
run changed_body AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$(cat "$tmp/relay.port")"
refused changed_body SignatureDoesNotMatch

# 7. libcurl's own signer with "Expect:" (what src/sqs_client.c did with libcurl 7.88): it names expect in
#    SignedHeaders and sends no Expect header.
: >"$log.mark"
wc -l <"$log" >"$log.mark"
curl -sS --noproxy '*' --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "X-Amz-Security-Token: $AWS_SESSION_TOKEN" -H 'Content-Type: application/x-amz-json-1.0' -H 'Expect:' \
    -H 'X-Amz-Target: AmazonSQS.ListQueues' -d '{}' -o "$tmp/expect.out" -w '%{http_code}' "$AWS_ENDPOINT_URL_SQS/" >"$tmp/expect.code"
check "Expect signed but not sent: 403" test "$(cat "$tmp/expect.code")" = 403
check "Expect signed but not sent: IncompleteSignature, naming expect" \
    jq_ok '.__type == "com.amazonaws.sqs#IncompleteSignature" and (.message | test("^.expect. is named as a SignedHeader"))' "$tmp/expect.out"
# ... and the same call without "Expect:" passes: the check is on the signature, not on curl.
curl -sS --noproxy '*' --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "X-Amz-Security-Token: $AWS_SESSION_TOKEN" -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: AmazonSQS.ListQueues' -d '{}' -o "$tmp/plain.out" -w '%{http_code}' "$AWS_ENDPOINT_URL_SQS/" >"$tmp/plain.code"
check "the same call signed by curl without Expect: 200" test "$(cat "$tmp/plain.code")" = 200

# 8. After all that, the good client still passes (nothing in the verifier got stuck).
run good_again
check "good again: succeeds" test "$(cat "$tmp/good_again.rc")" = 0

echo "SUITE: $pass passed, $fails failed"
if [ "$fails" -ne 0 ]; then
    echo "--- verifier log" >&2
    cat "$log" >&2
    for f in "$tmp"/*.err; do echo "--- $f" >&2; cat "$f" >&2; done
fi
[ "$fails" -eq 0 ]
