#!/usr/bin/env bash
# robust.sh -- vz-events where it was attacked (issue "robust"), with real servers: a throwaway
# PostgreSQL + PostGIS (scripts/db), vz-emulator over HTTP, local-aws-sqs (scripts/sqs-server) and
# small misbehaving HTTP peers (tests/robust/peer.py: a Runtime API that sends odd request ids or
# deadlines, an SQS front that throttles, fails or drops connections).
#
# usage: robust.sh SCENARIO VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR SOURCE_DIR
#   db_replan   a warm runtime across a column type change and a dropped and recreated
#               function: every record succeeds, prepared again once (SQLSTATE 0A000)
#   db_url      malformed DATABASE_URLs with a real scram-sha-256 password: no log line holds
#               the password or a piece of it; each says which part is wrong
#   db_timeout  invoke --timeout-ms 3000000000: the report matches what was committed
#   log_json    rows with NaN and Infinity coordinates: every log line is JSON
#   request_id  request ids with a space, "../", 300 characters, a control character
#   deadline    Lambda-Runtime-Deadline-Ms 5000 (not an epoch time): the records run
#   sqs_retry   the endpoint's SendMessage throttled, failed (500) and dropped: retried
#   esm_overrun an SQS peer answering 12 messages to a receive of 10: batches of 10 at most
#   odd_ids     messageIds with a NUL or invalid UTF-8, trailing garbage, /admin/events
here=$(cd "$(dirname "$0")" && pwd)
SRC=$6
# shellcheck source=../runtime/lib.sh
. "$here/../runtime/lib.sh" "$1" "$2" "$3" "$4" "$5"
# shellcheck source=../runtime/servers_lib.sh
. "$here/../runtime/servers_lib.sh"
PEER_PID=
cleanup_all() {
    stop_emu
    [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null
    [ -n "${RT_PID:-}" ] && kill "$RT_PID" 2>/dev/null
    [ -n "$PG_STARTED" ] && "$SRC/scripts/db" stop "$tmp/pg" >/dev/null 2>&1
    [ -n "$SQS_STARTED" ] && "$SRC/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1
    if [ -n "${VZ_TEST_LOG_DIR:-}" ] && [ -d "$tmp" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/robust_$SCENARIO"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/robust_$SCENARIO/" 2>/dev/null
        rm -f "$VZ_TEST_LOG_DIR/robust_$SCENARIO/peer.log" # what the peers saw: the bodies as sent
        [ -f "$tmp/pg/log" ] && cp "$tmp/pg/log" "$VZ_TEST_LOG_DIR/robust_$SCENARIO/postgres.log"
    fi
    [ -n "${VZ_KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup_all EXIT

BATCH_ANSWER='{"batchItemFailures":[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"},{"itemIdentifier":"00000007-0000-4000-8000-000000000007"}]}'
no_failures() { jq_true "$1" '.batchItemFailures == []'; }
# every line of FILE is a JSON object (strict JSON: no NaN or Infinity, which jq would take)
all_json() { [ -s "$1" ] && python3 -c '
import json, sys
def bad(c): raise ValueError(c)
for line in open(sys.argv[1], encoding="utf-8"):
    if not isinstance(json.loads(line, parse_constant=bad), dict): sys.exit(1)
' "$1" 2>/dev/null; }

scenario_db_replan() {
    start_pg
    export AWS_LAMBDA_LOG_FORMAT=JSON
    hasura_events ev crash_update_location_test robust 1 2 5
    start_emu -- "$VZ"
    invoke a -d @"$tmp/ev.json"
    check "warm: first batch succeeds" no_failures a
    q "ALTER TABLE atd_txdot_crashes ALTER COLUMN location_id TYPE varchar(100)"
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id IN (1, 5)"
    invoke b -d @"$tmp/ev.json"
    check "after a column type change: every record succeeds" no_failures b
    check "after a column type change: the rows are written" test "$(location 1),$(location 5)" = "INT-1,SVRD-A-E1"
    check "the stale statement was prepared again, once" log_count_is 'stale prepared statement' 1
    check "the cause is named (0A000)" log_has 'SQLSTATE 0A000'
    invoke c -d @"$tmp/ev.json"
    check "the next invocation needs no retry" bash -c "no=\$(grep -c 'stale prepared statement' '$tmp/emu.log'); [ \"\$no\" -eq 1 ]"
    check "the next invocation succeeds" no_failures c
    # The function the statement calls dropped and recreated, returning another type.
    q "ALTER FUNCTION find_location_for_cr3_collision(integer) RENAME TO find_location_for_cr3_collision_v1"
    q "CREATE FUNCTION find_location_for_cr3_collision(id integer) RETURNS TABLE (location_id text) LANGUAGE sql STABLE AS \$\$ SELECT location_id::text FROM find_location_for_cr3_collision_v1(id) \$\$"
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id IN (1, 5)"
    invoke d -d @"$tmp/ev.json"
    check "after a recreated function: every record succeeds" no_failures d
    check "after a recreated function: the rows are written" test "$(location 1),$(location 5)" = "INT-1,SVRD-A-E1"
    q "DROP FUNCTION find_location_for_cr3_collision(integer)"
    invoke e -d @"$tmp/ev.json"
    check "while the function is missing: the records fail (nothing invented)" jq_true e '.batchItemFailures | length == 3'
    q "ALTER FUNCTION find_location_for_cr3_collision_v1(integer) RENAME TO find_location_for_cr3_collision"
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id IN (1, 5)"
    invoke f -d @"$tmp/ev.json"
    check "after the function is back: every record succeeds" no_failures f
    check "after the function is back: the rows are written" test "$(location 1),$(location 5)" = "INT-1,SVRD-A-E1"
    check "one runtime served every invocation" starts_are 1
    check "every log line is JSON" all_json "$tmp/emu.log"
}

# A role with a real password (scram-sha-256 on loopback, not trust), and the malformed forms.
scenario_db_url() {
    start_pg
    local pw port
    pw=Pw9x$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    [ -n "${VZ_TEST_LOG_DIR:-}" ] && mkdir -p "$VZ_TEST_LOG_DIR" && echo "$pw" >>"$VZ_TEST_LOG_DIR/.secrets"
    port=$(sed -E 's/.*:([0-9]+)\/.*/\1/' <<<"$DATABASE_URL")
    psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -f "$SRC/db/role.sql" >/dev/null # the handlers' least privilege
    q "SET password_encryption = 'scram-sha-256'; CREATE ROLE vz_pw LOGIN PASSWORD '$pw' IN ROLE vz_events_handler"
    local hba
    hba=$(q "SHOW hba_file")
    { echo "host all vz_pw 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$tmp/hba" && cat "$tmp/hba" >"$hba"
    q "SELECT pg_reload_conf()" >/dev/null
    check "the role needs its password (scram-sha-256)" bash -c "! PGPASSWORD=wrong psql 'postgresql://vz_pw@127.0.0.1:$port/vz?sslmode=disable' -XAtqc 'SELECT 1' 2>/dev/null"
    check "the role connects with it" test "$(psql "postgresql://vz_pw:$pw@127.0.0.1:$port/vz?sslmode=disable" -XAtqc "SELECT current_user")" = vz_pw
    hasura_events ev crash_update_location_test robust 1 2
    local good="postgresql://vz_pw:$pw@127.0.0.1:$port/vz?sslmode=disable"
    DATABASE_URL=$good AWS_LAMBDA_LOG_FORMAT=JSON "$VZ" invoke "$tmp/ev.json" >"$tmp/good.out" 2>"$tmp/good.log"
    check "well-formed URL: the batch succeeds" no_failures good.out
    local name url want
    while IFS='|' read -r name url want; do
        DATABASE_URL=$url AWS_LAMBDA_LOG_FORMAT=JSON "$VZ" invoke "$tmp/ev.json" >"$tmp/$name.out" 2>"$tmp/$name.log"
        check "$name: both records fail" jq_true "$name.out" '.batchItemFailures | length == 2'
        check "$name: the log says which part is wrong" grep -qF -- "$want" "$tmp/$name.log"
        check "$name: no piece of the password is in a log line" bash -c "! grep -qF -e '${pw:0:8}' -e '${pw:8}' -e '${pw:4:8}' -e '${pw:12}' '$tmp/$name.log'"
        check "$name: every log line is JSON" all_json "$tmp/$name.log"
    done <<EOT
ipv6|postgresql://vz_pw:$pw@[::1:$port/vz|the host (an IPv6 address opened with '[' must be closed with ']') is malformed
percent|postgresql://vz_pw:${pw:0:8}%zz${pw:8}@127.0.0.1:$port/vz|the password is malformed
at|postgresql://vz_pw:${pw:0:8}@${pw:8}@127.0.0.1:$port/vz|unescaped '@' before its host
query|postgresql://vz_pw@127.0.0.1:$port/vz?sslmode=disable&password=${pw:0:8}%zz${pw:8}|a query parameter's value is malformed
badhost|postgresql://vz_pw:$pw@nohost.invalid:$port/vz|cannot connect to the database
wrongpw|postgresql://vz_pw:${pw}x@127.0.0.1:$port/vz?sslmode=disable|password authentication failed
EOT
    cat "$tmp"/*.log >"$tmp/all.log"
}

scenario_db_timeout() {
    start_pg
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id IN (1, 5, 9)"
    hasura_events ev crash_update_location_test robust 1 2 5 9 10 11
    "$VZ" invoke --timeout-ms 3000000000 "$tmp/ev.json" >"$tmp/t.out" 2>"$tmp/invoke.log"
    check "a deadline 35 days ahead: every record reported succeeded" no_failures t.out
    check "and every row was written" test "$(location 1),$(location 5),$(location 9)" = "INT-1,SVRD-A-E1,$(q "SELECT coalesce(location_id,'NULL') FROM atd_txdot_crashes WHERE crash_id = 9")"
    check "no record said nothing was run" bash -c "! grep -v '\"_aws\"' '$tmp/invoke.log' | grep -qiE 'nothing was (run|written)|failed'"
    check "six records logged succeeded" test "$(grep -c 'succeeded' "$tmp/invoke.log")" -ge 6
}

scenario_log_json() {
    start_pg
    export AWS_LAMBDA_LOG_FORMAT=JSON
    q "UPDATE atd_txdot_crashes SET latitude_primary = 'NaN', longitude_primary = 'Infinity' WHERE crash_id = 2"
    q "UPDATE atd_txdot_crashes SET latitude_primary = '-Infinity', longitude_primary = 'NaN' WHERE crash_id = 3"
    hasura_events ev crash_update_location_test robust 1 2 3
    "$VZ" invoke "$tmp/ev.json" >"$tmp/j.out" 2>"$tmp/invoke.log"
    check "the batch is answered" jq_true j.out '.batchItemFailures | type == "array"'
    check "every log line is JSON" all_json "$tmp/invoke.log"
    check "NaN and Infinity are logged as strings" bash -c "jq -e -s 'map(select(.key == 2)) | .[0] | .oldLatitude == \"NaN\" and .oldLongitude == \"Infinity\"' '$tmp/invoke.log' >/dev/null"
    check "-Infinity too" bash -c "jq -e -s 'map(select(.key == 3)) | .[0] | .oldLatitude == \"-Infinity\"' '$tmp/invoke.log' >/dev/null"
    check "finite coordinates stay numbers" bash -c "jq -e -s 'map(select(.key == 1)) | .[0] | (.oldLatitude | type) == \"number\"' '$tmp/invoke.log' >/dev/null"
}

# start_peer MODE ARGS...: tests/robust/peer.py on a free port ($PEER_PORT), its log $tmp/peer.log
start_peer() {
    rm -f "$tmp/peer.port"
    : >"$tmp/peer.log"
    python3 -B "$here/peer.py" "$1" "$tmp/peer.port" "$tmp/peer.log" "${@:2}" 2>>"$tmp/peer.err" &
    PEER_PID=$!
    for _ in $(seq 200); do [ -s "$tmp/peer.port" ] && break; sleep 0.05; done
    [ -s "$tmp/peer.port" ] || { echo "FAIL: peer.py $1 did not start" >&2; cat "$tmp/peer.err" >&2; exit 1; }
    PEER_PORT=$(cat "$tmp/peer.port")
}
stop_peer() { [ -n "$PEER_PID" ] && kill "$PEER_PID" 2>/dev/null && wait "$PEER_PID" 2>/dev/null; PEER_PID=; }
# run_runtime SPEC N: vz-events' loop against the peer Runtime API until it posted N answers
RT_PID=
run_runtime() {
    start_peer runtime "$1"
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$PEER_PORT VZ_RUNTIME_BACKOFF_MS=10 "$VZ" >>"$tmp/runtime.log" 2>&1 &
    RT_PID=$!
    for _ in $(seq 400); do
        [ "$(grep -c '"method": "POST"' "$tmp/peer.log")" -ge "$2" ] && break
        kill -0 "$RT_PID" 2>/dev/null || break
        sleep 0.05
    done
    for _ in $(seq 100); do grep -q '"did": "hold"' "$tmp/peer.log" && break; kill -0 "$RT_PID" 2>/dev/null || break; sleep 0.05; done
    RT_ALIVE=no
    kill -0 "$RT_PID" 2>/dev/null && RT_ALIVE=yes
    kill -TERM "$RT_PID" 2>/dev/null
    wait "$RT_PID" 2>/dev/null
    RT_PID=
    stop_peer
}
posted_to() { jq -s -e --arg p "$1" 'any(.[]; .method == "POST" and .path == $p)' "$tmp/peer.log" >/dev/null; }
posted_body() { jq -r --arg p "$1" 'select(.method == "POST" and .path == $p) | .body' "$tmp/peer.log"; }

scenario_request_id() {
    local long300 long2000
    long300=$(printf 'a%.0s' $(seq 300))
    long2000=$(printf 'b%.0s' $(seq 2000))
    local dl=$(($(date +%s%3N) + 600000))
    jq -n --arg b "$FX/sqs-batch.json" --arg l3 "$long300" --arg l2 "$long2000" --argjson dl "$dl" '[
        {id: "abc def", deadline: $dl, body: $b},
        {id: "../../runtime/init", deadline: $dl, body: $b},
        {id: $l3, deadline: $dl, body: $b},
        {id: "ctl\u0001id", deadline: $dl, body: $b},
        {id: $l2, deadline: $dl, body: $b},
        {id: "after-the-odd-ones", deadline: $dl, body: $b}]' >"$tmp/spec.json"
    run_runtime "$tmp/spec.json" 4
    check "an id with a space: answered under its percent-encoded path" posted_to /2018-06-01/runtime/invocation/abc%20def/response
    check "an id with ../: answered under its own path" posted_to /2018-06-01/runtime/invocation/%2E%2E%2F%2E%2E%2Fruntime%2Finit/response
    check "an id with ../: nothing posted to /runtime/init/error" bash -c "! grep -q 'init/error' '$tmp/peer.log'"
    check "an id of 300 characters: answered under all of it" posted_to "/2018-06-01/runtime/invocation/$long300/response"
    check "the answers are the batch's" test "$(posted_body /2018-06-01/runtime/invocation/abc%20def/response)" = "$BATCH_ANSWER"
    check "a control character: refused with one clear line" test "$(grep -c 'Lambda-Runtime-Aws-Request-Id (6 bytes) cannot be answered: it holds a control character' "$tmp/runtime.log")" -eq 1
    check "2000 characters: refused with one clear line" test "$(grep -c 'Lambda-Runtime-Aws-Request-Id (2000 bytes) cannot be answered: it is longer than 1024 characters' "$tmp/runtime.log")" -eq 1
    check "the refused ids are not in the log" bash -c "! grep -q '$long2000' '$tmp/runtime.log'"
    check "nothing posted for the refused ones" test "$(grep -c '"method": "POST"' "$tmp/peer.log")" -eq 4
    check "the next invocation is answered" posted_to /2018-06-01/runtime/invocation/after-the-odd-ones/response
    check "the runtime kept running" test "$RT_ALIVE" = yes
}

scenario_deadline() {
    local later=$(($(date +%s%3N) + 3600000))
    jq -n --arg b "$FX/sqs-batch.json" --argjson later "$later" '[
        {id: "dl-5000-a", deadline: 5000, body: $b},
        {id: "dl-5000-b", deadline: 5000, body: $b},
        {id: "dl-an-hour", deadline: $later, body: $b}]' >"$tmp/spec.json"
    run_runtime "$tmp/spec.json" 3
    check "deadline 5000: the records run (only 3 and 7 fail)" test "$(posted_body /2018-06-01/runtime/invocation/dl-5000-a/response)" = "$BATCH_ANSWER"
    check "deadline 5000, again: the records run" test "$(posted_body /2018-06-01/runtime/invocation/dl-5000-b/response)" = "$BATCH_ANSWER"
    check "an hour ahead: the records run" test "$(posted_body /2018-06-01/runtime/invocation/dl-an-hour/response)" = "$BATCH_ANSWER"
    check "the implausible deadline is logged once" test "$(grep -c 'is not a plausible epoch time' "$tmp/runtime.log")" -eq 1
    check "no record reported not started" bash -c "! grep -q 'not started' '$tmp/runtime.log'"
}

queued_count() { # queued_count QUEUE: messages in the real queue, visible, delayed or in flight
    curl -s --noproxy '*' --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
        -d "{\"QueueUrl\":\"$AWS_ENDPOINT_URL_SQS/000000000000/$1\",\"AttributeNames\":[\"All\"]}" "$AWS_ENDPOINT_URL_SQS/" |
        jq '.Attributes | (.ApproximateNumberOfMessages | tonumber) + (.ApproximateNumberOfMessagesDelayed | tonumber) + (.ApproximateNumberOfMessagesNotVisible | tonumber)'
}

# The endpoint's SendMessage through a front that throttles, fails and drops, then the real server.
scenario_sqs_retry() {
    local qn=atd-vz-data-events-crash_update_location_test key
    start_sqs "$qn"
    key=retry-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ -n "${VZ_TEST_LOG_DIR:-}" ] && mkdir -p "$VZ_TEST_LOG_DIR" && echo "$key" >>"$VZ_TEST_LOG_DIR/.secrets"
    # requests: 1 GetQueueUrl, 2 SendMessage (p1); p2: throttle, 500, pass; p3: drop, 503, pass;
    # p4: throttled three times; p5: pass
    start_peer sqs-front "$AWS_ENDPOINT_URL_SQS" pass,pass,throttle,500,pass,drop,503,pass,throttle,throttle,throttle
    rm -f "$tmp/url.port"
    start_emu --timeout 10 --url-port 0 --url-port-file "$tmp/url.port" -- \
        env HASURA_EVENT_API="$key" AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$PEER_PORT" "$VZ"
    for _ in $(seq 100); do [ -s "$tmp/url.port" ] && break; sleep 0.05; done
    local url=http://127.0.0.1:$(cat "$tmp/url.port")/events/ i
    for i in 1 2 3 4 5; do
        curl -s --noproxy '*' --max-time 30 -o "$tmp/p$i" -w '%{http_code}' -H "HASURA_EVENT_API: $key" \
            -H 'HASURA_EVENT_NAME: crash_update_location_test' -H 'Content-Type: application/json' \
            -d "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":$i}}},\"id\":\"retry-$i\"}" "$url" >"$tmp/p$i.code"
    done
    check "no fault: 200" code_is p1 200
    check "throttled, then 500: queued on the third attempt" code_is p2 200
    check "dropped, then 503: queued on the third attempt" code_is p3 200
    check "the attempts waited with backoff" log_has 'attempt 2 in [0-9]+ ms \([0-9]+ ms left\)'

    check "throttled three times: 503" code_is p4 503
    check "throttled three times: the reason names the throttling" jq_true p4 '.message == "Unable to queue update request: the queue service refused the message (ThrottlingException)"'
    check "after that: 200" code_is p5 200
    check "the front saw every attempt (1 + 3 + 3 + 3 + 1 SendMessage)" test "$(grep -c '"target": "AmazonSQS.SendMessage"' "$tmp/peer.log")" -eq 11
    check "every attempt was signed" bash -c "! grep -q '\"signed\": false' '$tmp/peer.log'"
    check "each failed attempt logged" test "$(log_count 'SQS SendMessage for [a-z_-]+: attempt [12] of 3 failed')" -eq 6
    check "the last one says why it stopped" log_has 'attempt 3 of 3 failed \(ThrottlingException, HTTP 400\).*not retrying: no attempts left'
    check "a drop is logged as a transport failure" log_has 'attempt 1 of 3 failed \(SQS.Transport, HTTP 0\)'
    check "exactly the 200s are in the queue" test "$(queued_count "$qn")" -eq 4
    check "the key is in no log line" bash -c "! grep -qF '$key' '$tmp/emu.log'"
    check "the secret key is in no log line" bash -c "! grep -qF '$AWS_SECRET_ACCESS_KEY' '$tmp/emu.log'"
    check "no body in the log" bash -c "! grep -q 'retry-[0-9]' '$tmp/emu.log'"
    check "the runtime survived" starts_are 1
}

# vz-emulator's SQS mapping against a peer that answers 12 messages to a receive of at most 10.
scenario_esm_overrun() {
    start_peer sqs-overrun 12
    export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=peer-key AWS_SECRET_ACCESS_KEY=peer-secret-not-real
    export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$PEER_PORT
    start_emu --sqs-queue atd-vz-data-events-example_test --sqs-wait 1 -- "$VZ"
    check "the 12 messages are deleted after their invocations" wait_log 'SQS batch of 2 \([^)]*\): 2 deleted'
    check "the first invocation had 10 records" log_has 'SQS batch of 10 \([^)]*\): 10 deleted'
    check "no invocation had more than 10 records" bash -c "! grep -qE 'SQS batch of (1[1-9]|[2-9][0-9])' '$tmp/emu.log'"
    check "the oversized answer is said once, with its size" test "$(log_count 'answered 12 messages for a batch of at most 10; invoking them in batches of 10')" -eq 1
    check "every handle was deleted once" test "$(jq -s '[.[] | select(.target == "DeleteMessageBatch") | .handles[]] | sort | unique | length' "$tmp/peer.log")" -eq 12
    check "the runtime served both" starts_are 1
}

# Odd identifiers and paths: the answer is always JSON in valid UTF-8 naming exactly the failed
# records, or the invocation fails as a whole when a messageId cannot be echoed exactly.
scenario_odd_ids() {
    python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
arn = "arn:aws:sqs:us-east-1:000000000000:atd-vz-data-events-example_test"
def rec(mid, body):
    return {"messageId": mid, "receiptHandle": "rh", "body": body, "attributes": {}, "messageAttributes": {},
            "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"}
def write(name, records, raw=None):
    with open(tmp + "/" + name, "wb") as f:
        f.write(raw if raw is not None else json.dumps({"Records": records}).encode())
write("nul.json", [rec("abc\u0000def", "{}"), rec("abc", "not json")])
good = json.dumps({"Records": [rec("ok-1", "{}")]}).encode()
write("badutf8.json", None, good.replace(b"ok-1", b"ok-\xff\xfe"))
write("trailing.json", None, good + b' {"Records":[]}')
write("mixed.json", [rec('quote"back\\slash', "not json"), rec("caf\u00e9-\U0001F697", "{}"),
                     rec("caf\u00e9-\U0001F697-2", "not json"), rec("tab\there", "{}")])
PY
    start_emu -- env HASURA_EVENT_API=odd-key "$VZ"
    local n
    for n in nul badutf8 trailing; do
        invoke "$n" --data-binary @"$tmp/$n.json"
        check "$n: the invocation fails as a whole (Function.InvalidEvent)" error_type_is "$n" Function.InvalidEvent
        check "$n: with X-Amz-Function-Error" header_is "$n" X-Amz-Function-Error Unhandled
        check "$n: the error document is JSON in valid UTF-8" python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$tmp/$n"
    done
    check "nul: says why" jq_true nul '.errorMessage | test("NUL character")'
    check "badutf8: says why" jq_true badutf8 '.errorMessage | test("not valid UTF-8")'
    check "trailing: says why" jq_true trailing '.errorMessage | test("bytes after its JSON value")'
    invoke mixed --data-binary @"$tmp/mixed.json"
    check "odd but valid ids: answered" succeeded mixed
    check "odd but valid ids: exactly the failed ones, byte for byte" python3 -c '
import json, sys
got = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
sys.exit(got != {"batchItemFailures": [{"itemIdentifier": "quote\"back\\slash"}, {"itemIdentifier": "caf\u00e9-\U0001F697-2"}]})' "$tmp/mixed"
    stop_emu
    rm -f "$tmp/url.port"
    start_emu --url-port 0 --url-port-file "$tmp/url.port" -- env HASURA_EVENT_API=odd-key "$VZ"
    for _ in $(seq 100); do [ -s "$tmp/url.port" ] && break; sleep 0.05; done
    local base=http://127.0.0.1:$(cat "$tmp/url.port") p code
    for p in /admin/events /x/events/ /eventsx; do
        code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -H 'HASURA_EVENT_API: odd-key' -H 'HASURA_EVENT_NAME: example_test' -d '{}' "$base$p")
        check "$p: 404" test "$code" = 404
    done
    for p in /events /events/; do
        code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -H 'HASURA_EVENT_API: odd-key' -H 'HASURA_EVENT_NAME: example_test' -d '{}' "$base$p")
        check "$p: the endpoint (503: no queue service configured here)" test "$code" = 503
    done
}

# X-Amz-Client-Context through vz-emulator into the runtime: decoded from base64 as Lambda does,
# a value that is not base64 or that decodes to invalid UTF-8 (JSON or not) refused.  The test
# handler logs the MD5 of what it received.
scenario_client_context() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    event t trace_test '{}'
    start_emu -- "$VZT"
    local compact='{"client":{"installation_id":"i-1","app_title":"vz"},"custom":{"k":"v"},"env":{"locale":"en"}}'
    local pretty
    pretty=$(printf '%s' "$compact" | jq .)
    md5_of() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
    invoke a -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf '%s' "$compact" | base64 -w0)"
    check "base64 JSON: invoked" succeeded a
    check "base64 JSON: the runtime got it decoded" wait_log "trace: client_context_md5=$(md5_of "$compact")"
    invoke b -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf '%s' "$pretty" | base64 -w0)"
    check "pretty-printed JSON: invoked" succeeded b
    check "pretty-printed JSON: the runtime got it on one line" test "$(log_count "trace: client_context_md5=$(md5_of "$compact")")" -eq 2
    invoke c -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf '%s' 'plain text' | base64 -w0)"
    check "base64 text that is not JSON: passed on decoded" wait_log "trace: client_context_md5=$(md5_of 'plain text')"
    local before
    before=$(log_count 'trace: client_context_md5=')
    invoke d -d @"$tmp/t.json" -H 'X-Amz-Client-Context: {"client":{"app_title":"vz"}}'
    check "not base64: 400" code_is d 400
    check "not base64: InvalidRequestContentException" error_type_is d InvalidRequestContentException
    check "not base64: says so" jq_true d '.errorMessage == "X-Amz-Client-Context must be a valid base64 encoded string"'
    invoke e -d @"$tmp/t.json" -H 'X-Amz-Client-Context: abc'
    check "cut base64: 400" code_is e 400
    invoke f -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf 'a\r\nX-Injected: 1' | base64 -w0)"
    check "decodes to a line break: 400 (it would break the Runtime API's header)" code_is f 400
    invoke g -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(head -c 2700 /dev/zero | tr '\0' a | base64 -w0)"
    check "over 3583 characters: 400" code_is g 400
    # JSON that parses but holds a byte that is not UTF-8 (0xff): Lambda takes UTF-8 JSON only.
    invoke i -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf '{"custom":{"k":"a\377b"}}' | base64 -w0)"
    check "JSON with an invalid UTF-8 byte: 400" code_is i 400
    check "JSON with an invalid UTF-8 byte: InvalidRequestContentException, says why" \
        jq_true i '.errorType == "InvalidRequestContentException" and .errorMessage == "X-Amz-Client-Context decodes to invalid UTF-8"'
    invoke j -d @"$tmp/t.json" -H "X-Amz-Client-Context: $(printf 'caf\351' | base64 -w0)"
    check "text with an invalid UTF-8 byte: 400" code_is j 400
    check "the refused ones never reached the runtime" test "$(log_count 'trace: client_context_md5=')" -eq "$before"
    invoke h -d @"$tmp/t.json"
    check "no client context: the runtime gets none" wait_log 'trace: client_context_md5=\(none\)'
    check "the client context is never logged" bash -c "! grep -q installation_id '$tmp/emu.log'"
    check "one runtime throughout" starts_are 1
}

# What a caller of vz-emulator's invoke API sees, row by row of docs/emulator.md's table.
scenario_invoke_api() {
    event t trace_test '{}'
    start_emu -- "$VZT"
    invoke a -d @"$tmp/t.json"
    check "content type application/json" header_is a Content-Type application/json
    check "X-Amzn-RequestId is a UUID" bash -c "[[ '$(header_of a X-Amzn-RequestId)' =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\$ ]]"
    check "X-Amz-Executed-Version \$LATEST" header_is a X-Amz-Executed-Version '$LATEST'
    check "no trace header: one is made up (Sampled=0)" wait_log 'trace: env=Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0 '
    invoke b -d @"$tmp/t.json" -H 'X-Amzn-Trace-Id: Root=1-5f84c7a9-0123456789abcdef01234567;Sampled=1'
    check "a trace header is passed on as it is" wait_log 'trace: env=Root=1-5f84c7a9-0123456789abcdef01234567;Sampled=1 '
    local base=http://127.0.0.1:$PORT/2015-03-31/functions
    check "any one-segment function name is accepted" test "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -d @"$tmp/t.json" "$base/my-function/invocations")" = 200
    check "a path with two segments: 404" test "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -d @"$tmp/t.json" "$base/a/b/invocations")" = 404
    check "GET: 405" test "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$base/function/invocations")" = 405
    check "the runtime was started at launch, before any invocation" bash -c "head -5 '$tmp/emu.log' | grep -q 'started runtime pid'"
    # Listen address: 127.0.0.1 only (AWS's RIE listens on 0.0.0.0:8080 by default).
    local listening
    listening=$(ss -Hltn "( sport = :$PORT or sport = :$RAPI_PORT )" | awk '{print $4}' | sort | tr '\n' ' ')
    check "listens on 127.0.0.1 only, invocations and Runtime API ($listening)" \
        test "$listening" = "$(printf '127.0.0.1:%s\n' "$PORT" "$RAPI_PORT" | sort | tr '\n' ' ')"
    stop_emu
    # The invocation id: sent with each event in Lambda-Runtime-Invocation-Id; a response without
    # it, or with another one, is refused (400) and the invocation stays open; the echoed one is
    # taken.  A scripted runtime (curl) posts the three in turn and records the status codes.
    cat >"$tmp/echo_rt.sh" <<'RT'
#!/bin/bash
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation
out=$1
while curl -s --noproxy '*' -D "$out.h" -o /dev/null "$api/next"; do
    id=$(tr -d '\r' <"$out.h" | awk 'tolower($1) == "lambda-runtime-aws-request-id:" { print $2 }')
    inv=$(tr -d '\r' <"$out.h" | awk 'tolower($1) == "lambda-runtime-invocation-id:" { print $2 }')
    echo "$inv" >"$out.inv"
    for h in "X-None: 1" "Lambda-Runtime-Invocation-Id: not-$inv" "Lambda-Runtime-Invocation-Id: $inv"; do
        curl -s --noproxy '*' -o /dev/null -w '%{http_code}\n' -H "$h" -d '{"echoed":true}' "$api/$id/response" >>"$out.codes"
    done
done
RT
    start_emu -- /bin/bash "$tmp/echo_rt.sh" "$tmp/echo"
    invoke echoed -d @"$tmp/t.json"
    check "invocation id: sent with the event (a UUID)" grep -qE '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' "$tmp/echo.inv"
    check "invocation id: missing 400, another one 400, echoed 202 ($(tr '\n' ' ' <"$tmp/echo.codes"))" \
        test "$(tr '\n' ' ' <"$tmp/echo.codes")" = "400 400 202 "
    check "invocation id: the caller gets the echoed response" body_is echoed '{"echoed":true}'
    stop_emu
    # The first invocation's deadline does not count the runtime's init: it is set when the runtime
    # takes the invocation (AWS's RIE counts init in it).  A runtime that takes 2 s to start, a 3 s
    # timeout, the invocation sent before it is up: it still has over 1.5 s left (at most 1 s if the
    # 2 s counted), and is not timed out.
    start_emu --timeout 3 -- /bin/sh -c 'sleep 2; exec "$0"' "$VZT"
    invoke slow_init -d @"$tmp/t.json"
    check "slow init: the first invocation answered, not timed out" succeeded slow_init
    local left
    left=$(grep -oE 'trace: .* remaining_ms=[0-9-]+' "$tmp/emu.log" | head -1 | grep -oE '[0-9-]+$')
    check "slow init: the deadline starts when the runtime takes the invocation (${left:-none} ms of 3000 left)" \
        test "${left:-0}" -gt 1500
}

case "$SCENARIO" in
db_replan | db_url | db_timeout | log_json | request_id | deadline | sqs_retry | esm_overrun | odd_ids | client_context | invoke_api) "scenario_$SCENARIO" ;;
*)
    echo "robust.sh: unknown scenario $SCENARIO" >&2
    exit 2
    ;;
esac
finish
