#!/usr/bin/env bash
# faults.sh -- fault injection with real servers: vz-events behind vz-emulator, a throwaway
# PostgreSQL + PostGIS (scripts/db) and local-aws-sqs (scripts/sqs-server).
#
# usage: faults.sh SCENARIO VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR SOURCE_DIR
#   pg_kill   PostgreSQL SIGKILLed (postmaster and every backend) while a batch waits on a row
#             lock, then started again: the batch is answered in time, the records committed
#             before the kill are in the database, exactly the others are reported failed, the
#             runtime survives, and the redelivery of the failed ones finishes the job.
#   pg_kill_answered  PostgreSQL SIGKILLed right after a batch was answered, over several
#             rounds, against the throwaway cluster whose own default is synchronous_commit =
#             off: every record reported succeeded is in the database after the restart (each
#             record's transaction commits synchronously whatever the server's default).
#   pg_stop   PostgreSQL frozen (SIGSTOP): with a 3 s function timeout the batch is answered
#             before the deadline with every record failed (no Sandbox.Timedout, nothing
#             written); after SIGCONT the redelivered batch succeeds on the same runtime.
#             Then an event of exactly 6 MiB (10 records of ~629 KiB) is processed whole.
#   runtime_api  the Runtime API answering garbage, half an event, or nothing past the deadline
#             (vz-emulator --test-fault next-garbage, next-truncated, response-hang): the
#             invoker gets an error (so SQS redelivers the batch), the runtime goes on or is
#             replaced, the next invocation is served.
#   sqs_down  the SQS server frozen, then gone, when the endpoint sends: 503 with the failure
#             kind, one clear log line without the key, the runtime survives; the requests
#             answered 200 are exactly the messages in the queue.
# Runtime API 500/403/400, reset connections, 413 and init errors are tests/runtime/scenarios.sh.
here=$(cd "$(dirname "$0")" && pwd)
SRC=$6
# shellcheck source=../runtime/lib.sh
. "$here/../runtime/lib.sh" "$1" "$2" "$3" "$4" "$5"
# shellcheck source=../runtime/servers_lib.sh
. "$here/../runtime/servers_lib.sh"
cleanup_servers() {
    stop_emu
    [ -n "$PG_STARTED" ] && { pg_pids | xargs -r kill -CONT 2>/dev/null; "$SRC/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; }
    [ -n "$SQS_STARTED" ] && { [ -n "${VZ_SQS_SERVER_PID:-}" ] && kill -CONT "$VZ_SQS_SERVER_PID" 2>/dev/null; "$SRC/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1; }
    if [ -n "${VZ_TEST_LOG_DIR:-}" ] && [ -d "$tmp" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/faults_$SCENARIO"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/faults_$SCENARIO/" 2>/dev/null
        [ -f "$tmp/sqs/server.log" ] && cp "$tmp/sqs/server.log" "$VZ_TEST_LOG_DIR/faults_$SCENARIO/sqs-server.log"
        [ -f "$tmp/pg/log" ] && cp "$tmp/pg/log" "$VZ_TEST_LOG_DIR/faults_$SCENARIO/postgres.log"
    fi
    rm -rf "$tmp"
}
trap cleanup_servers EXIT

request_id_of() { header_of "$1" X-Amzn-RequestId; }
failed_ids() { jq -r '.batchItemFailures[].itemIdentifier' "$tmp/$1" 2>/dev/null; }
# keys_of_ids EVENT_NAME: the crash ids of the records whose messageId is on stdin
keys_of_ids() {
    jq -r --slurpfile ids <(jq -R . | jq -s .) '.Records[] | select(.messageId as $m | $ids[0] | index($m)) | .body | fromjson | .event.data.new.crash_id' "$tmp/$1.json"
}

scenario_pg_kill() {
    start_pg
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id IN (6, 7, 8)"
    # Hold crash 6 locked so that the batch stops there, with 1, 2 and 5 committed before it.
    psql "$DATABASE_URL" -Xq -c "BEGIN; SELECT 1 FROM atd_txdot_crashes WHERE crash_id = 6 FOR UPDATE; SELECT pg_sleep(60); COMMIT;" \
        >"$tmp/locker.log" 2>&1 &
    local locker=$!
    hasura_events k crash_update_location_test fault 1 2 5 6 7 8
    start_emu --timeout 20 -- "$VZ"
    invoke k -d @"$tmp/k.json" &
    local cpid=$!
    local waited=0
    for _ in $(seq 200); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vz-events' AND wait_event_type = 'Lock'")" != 0 ] && { waited=1; break; }
        sleep 0.1
    done
    check "the batch waits on the locked row" test "$waited" -eq 1
    kill_cluster
    wait "$locker" 2>/dev/null
    wait "$cpid"
    check "killed server: the batch is answered (200, no function error)" succeeded k
    check "killed server: records 6, 7, 8 reported failed, exactly" \
        test "$(failed_ids k | keys_of_ids k | tr '\n' ' ')" = "6 7 8 "
    check "killed server: the runtime logged the broken connection" log_has 'database|connection'
    check "killed server: the runtime survived" starts_are 1
    "$SRC/scripts/db" start "$tmp/pg" >/dev/null 2>"$tmp/pg.err" || { echo "FAIL: restart" >&2; cat "$tmp/pg.err" >&2; }
    check "after the restart: 1, 2, 5 were committed before the kill" \
        test "$(location 1) $(location 2) $(location 5)" = "INT-1 NULL SVRD-A-E1"
    check "after the restart: 6, 7, 8 untouched" test "$(location 6) $(location 7) $(location 8)" = "NULL NULL NULL"
    # SQS redelivers exactly the failed records: build that event from the answer.
    local again=()
    mapfile -t again < <(failed_ids k | keys_of_ids k)
    hasura_events r crash_update_location_test fault "${again[@]}"
    invoke r -d @"$tmp/r.json"
    check "redelivery: every record succeeds" body_is r '{"batchItemFailures":[]}'
    check "redelivery: 6, 7, 8 now right" test "$(location 6) $(location 7) $(location 8)" = "SVRD-A-W SVRD-B-S SVRD-B-N"
    check "redelivery: same runtime, reconnected" starts_are 1
}

scenario_pg_kill_answered() {
    start_pg
    check "the server's own default is synchronous_commit = off" test "$(q 'SHOW synchronous_commit')" = off
    hasura_events a crash_update_jurisdiction_test fault 1 2 3 4 5 6 7 8 9 10
    start_emu --timeout 20 -- "$VZ"
    local round lost=0 reported=0 id key want got
    for round in 1 2 3 4 5; do
        # Every flag wrong, so that each record writes -- but crash 4's: it has no position and
        # city_id 22, so the crashes' trigger keeps it 'Y', the right answer.
        q "UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id BETWEEN 1 AND 10"
        q "CHECKPOINT"
        invoke "a$round" -d @"$tmp/a.json"
        kill_cluster # right after the answer: an acknowledged but unwritten commit would be lost now
        "$SRC/scripts/db" start "$tmp/pg" >/dev/null 2>"$tmp/pg.err" || { echo "FAIL: restart" >&2; cat "$tmp/pg.err" >&2; }
        check "round $round: the batch was answered" succeeded "a$round"
        local failed
        failed=" $(failed_ids "a$round" | keys_of_ids a | tr '\n' ' ')"
        for key in 1 2 3 4 5 6 7 8 9 10; do
            case "$failed" in *" $key "*) continue ;; esac
            reported=$((reported + 1))
            want=Y
            got=$(flag "$key")
            [ "$got" = "$want" ] || { lost=$((lost + 1)); echo "round $round: crash $key reported succeeded, flag $got after the restart" >&2; }
        done
    done
    check "every record reported succeeded survived the kill ($reported reported, $lost lost)" test "$lost" -eq 0
    check "most records were reported succeeded ($reported of 50)" test "$reported" -ge 40
    check "the runtime survived five kills" starts_are 1
}

scenario_pg_stop() {
    start_pg
    q "UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id BETWEEN 1 AND 10"
    hasura_events w crash_update_jurisdiction_test fault 13
    start_emu --timeout 3 -- "$VZ"
    invoke w -d @"$tmp/w.json"
    check "warm-up invocation connected" body_is w '{"batchItemFailures":[]}'
    local pids
    pids=$(pg_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -STOP $pids
    hasura_events s crash_update_jurisdiction_test fault 1 2 3 4 5 6 7 8 9 10
    invoke s -d @"$tmp/s.json"
    # shellcheck disable=SC2086
    kill -CONT $pids
    local ms
    ms=$(grep -oE "invocation $(request_id_of s) succeeded in [0-9]+" "$tmp/emu.log" | grep -oE '[0-9]+$')
    check "frozen server: the runtime answered within the 3 s timeout (${ms:-no answer} ms)" test "${ms:-9999}" -lt 3000
    check "frozen server: no Sandbox.Timedout, a batch response" succeeded s
    check "frozen server: all 10 records reported failed" test "$(failed_ids s | wc -l)" -eq 10
    check "frozen server: the runtime said why" log_has 'time|deadline'
    # What the frozen server had already received it runs once woken (the pipeline was in its socket
    # buffer): at most the right values, which the redelivery below recomputes anyway.  (Every
    # right value is 'Y'; crash 4, without a position, stays 'Y' through its trigger.)
    check "frozen server: nothing wrong written" bash -c "q() { psql '$DATABASE_URL' -XAtq -c \"\$1\"; }; test \"\$(q \"SELECT count(*) FROM atd_txdot_crashes WHERE crash_id BETWEEN 1 AND 10 AND (coalesce(austin_full_purpose, '?') NOT IN ('N', 'Y') OR (crash_id = 4 AND austin_full_purpose <> 'Y'))\")\" = 0"
    check "frozen server: the runtime survived" starts_are 1
    invoke s2 -d @"$tmp/s.json"
    check "after SIGCONT: the redelivered batch succeeds" body_is s2 '{"batchItemFailures":[]}'
    check "after SIGCONT: every flag right" test "$(q "SELECT string_agg(austin_full_purpose, '' ORDER BY crash_id) FROM atd_txdot_crashes WHERE crash_id BETWEEN 1 AND 10")" = YYYYYYYYYY
    check "after SIGCONT: same runtime" starts_are 1
    stop_emu
    [ "$fails" -ne 0 ] && { echo "--- the frozen-server part's log:" >&2; cut -c1-300 "$tmp/emu.log" | tail -n 40 >&2; }

    # An event of exactly 6 MiB: 10 records, each a Hasura payload padded to fill it.
    q "UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id BETWEEN 1 AND 10"
    # (vz-events event refuses SQS bodies over 256 KiB, rightly: this event is built directly)
    python3 - "$tmp/big.json" <<'PY'
import json, sys
target = 6 * 1024 * 1024
def event(pad):
    recs = []
    for i in range(1, 11):
        body = json.dumps({"event": {"op": "UPDATE", "data": {"new": {"crash_id": i, "pad": "PAD" + "x" * pad}}},
                           "id": "big-%d" % i}, separators=(",", ":"))
        recs.append({"messageId": "00000000-0000-4000-8000-%012d" % i, "receiptHandle": "rh-%d" % i, "body": body,
                     "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                     "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                     "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:atd-vz-data-events-crash_update_jurisdiction_test",
                     "awsRegion": "us-east-1"})
    return json.dumps({"Records": recs}, separators=(",", ":"))
base = len(event(0))
text = event((target - base) // 10)
text += " " * (target - len(text))
open(sys.argv[1], "w").write(text)
PY
    local size
    size=$(stat -c %s "$tmp/big.json")
    check "the event is exactly 6 MiB ($size bytes)" test "$size" -eq $((6 * 1024 * 1024))
    start_emu --timeout 20 -- "$VZ"
    invoke big -d @"$tmp/big.json"
    check "6 MiB event: every record succeeded" body_is big '{"batchItemFailures":[]}'
    check "6 MiB event: every flag written" test "$(q "SELECT string_agg(austin_full_purpose, '' ORDER BY crash_id) FROM atd_txdot_crashes WHERE crash_id BETWEEN 1 AND 10")" = YYYYYYYYYY
    check "6 MiB event: no body in the log" bash -c "! grep -q PADxxxx '$tmp/emu.log'"
    check "6 MiB event: one runtime" starts_are 1
}

BATCH_ANSWER='{"batchItemFailures":[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"},{"itemIdentifier":"00000007-0000-4000-8000-000000000007"}]}'

# The Runtime API answering garbage, a truncated event, or nothing past the deadline.  In each case
# the invoker (the event source mapping) gets an error, never a success, so SQS keeps the whole
# batch and delivers it again: nothing is lost; and the next invocation is served.
scenario_runtime_api() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    start_emu --timeout 3 --test-fault next-garbage:1 -- env VZ_RUNTIME_BACKOFF_MS=20 "$VZ"
    invoke g -d @"$FX/sqs-batch.json"
    check "garbage: the invoker gets an error, not a success" error_type_is g Runtime.NoResponse
    check "garbage: the runtime said it cannot answer it" log_has 'without Lambda-Runtime-Aws-Request-Id; it cannot be answered, asking for the next'
    invoke g2 -d @"$FX/sqs-batch.json"
    check "garbage: the next invocation is answered" body_is g2 "$BATCH_ANSWER"
    check "garbage: the runtime survived" starts_are 1
    stop_emu

    start_emu --timeout 3 --test-fault next-truncated:1 -- env VZ_RUNTIME_BACKOFF_MS=20 "$VZ"
    invoke t -d @"$FX/sqs-batch.json"
    check "truncated: the invoker gets an error, not a success" error_type_is t Runtime.NoResponse
    check "truncated: the runtime saw a transport failure and asked again" log_has 'GET /2018-06-01/runtime/invocation/next to the Runtime API at 127.0.0.1:[0-9]+ failed \(.*\); attempt 2 of'
    check "truncated: no partial event was run" bash -c "! grep -q 'record 0 ' '$tmp/emu.log'"
    invoke t2 -d @"$FX/sqs-batch.json"
    check "truncated: the next invocation is answered" body_is t2 "$BATCH_ANSWER"
    check "truncated: the runtime survived" starts_are 1
    stop_emu

    start_emu --timeout 2 --test-fault response-hang:1 -- "$VZ"
    invoke h -d @"$FX/sqs-batch.json"
    check "no answer past the deadline: Sandbox.Timedout" error_type_is h Sandbox.Timedout
    check "no answer past the deadline: the stuck runtime is killed" wait_log 'runtime pid [0-9]+ exited \(signal 9\)'
    invoke h2 -d @"$FX/sqs-batch.json"
    check "no answer past the deadline: a new runtime answers the next one" body_is h2 "$BATCH_ANSWER"
    check "no answer past the deadline: restarted once" starts_are 2
}

scenario_sqs_down() {
    local qn=atd-vz-data-events-crash_update_location_test
    start_sqs "$qn"
    local key
    key=fault-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ -n "${VZ_TEST_LOG_DIR:-}" ] && mkdir -p "$VZ_TEST_LOG_DIR" && echo "$key" >>"$VZ_TEST_LOG_DIR/.secrets"
    rm -f "$tmp/url.port"
    start_emu --timeout 5 --url-port 0 --url-port-file "$tmp/url.port" -- env HASURA_EVENT_API="$key" "$VZ"
    for _ in $(seq 100); do [ -s "$tmp/url.port" ] && break; sleep 0.05; done
    local url=http://127.0.0.1:$(cat "$tmp/url.port")/events/ ok=0 n
    post() { # post NAME CRASH_ID
        curl -s --noproxy '*' --max-time 30 -o "$tmp/$1" -w '%{http_code}' -H "HASURA_EVENT_API: $key" \
            -H 'HASURA_EVENT_NAME: crash_update_location_test' -H 'Content-Type: application/json' \
            -d "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":$2}}},\"id\":\"sqs-down-$2\"}" "$url" >"$tmp/$1.code"
    }
    post p1 1
    check "SQS up: 200 queued" code_is p1 200
    [ "$(cat "$tmp/p1.code")" = 200 ] && ok=$((ok + 1))
    kill -STOP "$VZ_SQS_SERVER_PID"
    post p2 2
    kill -CONT "$VZ_SQS_SERVER_PID"
    check "SQS frozen: 503" code_is p2 503
    check "SQS frozen: the reason is the kind of failure" jq_true p2 '.message == "Unable to queue update request: the queue service did not answer in time"'
    # 503 with its message is the function's own answer: a Sandbox.Timedout would be a 502 from the front.
    check "SQS frozen: the function answered before its 5 s timeout" bash -c "! grep -q Sandbox.Timedout '$tmp/emu.log'"
    sleep 1
    post p3 3
    check "SQS back: 200 again" code_is p3 200
    [ "$(cat "$tmp/p3.code")" = 200 ] && ok=$((ok + 1))
    # Everything answered 200 is in the queue (the 503 one may have landed too, once the server
    # woke, once per attempt, each attempt being bounded at 2 s: SQS delivery is at least once, and
    # the handlers are idempotent).
    n=$(curl -s --noproxy '*' --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
        -d "{\"QueueUrl\":\"$AWS_ENDPOINT_URL_SQS/000000000000/$qn\",\"AttributeNames\":[\"All\"]}" "$AWS_ENDPOINT_URL_SQS/" |
        jq '.Attributes | (.ApproximateNumberOfMessages | tonumber) + (.ApproximateNumberOfMessagesDelayed | tonumber) + (.ApproximateNumberOfMessagesNotVisible | tonumber)')
    check "every 200 is a message in the queue ($ok answered 200, $n queued)" test "${n:-0}" -ge "$ok" -a "${n:-0}" -le 5
    "$SRC/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1
    SQS_STARTED=
    post p4 4
    check "SQS gone: 503" code_is p4 503
    check "SQS gone: says it could not be reached" jq_true p4 '.message == "Unable to queue update request: the queue service could not be reached"'
    check "SQS gone: one clear log line naming the queue" log_has "endpoint: cannot queue the event for $qn \(SQS.Transport\)"
    check "the key is in no log line" bash -c "! grep -qF '$key' '$tmp/emu.log'"
    check "no body in the log" bash -c "! grep -q 'sqs-down-' '$tmp/emu.log'"
    check "the runtime survived every failure" starts_are 1
}

case "$SCENARIO" in
pg_kill | pg_kill_answered | pg_stop | sqs_down | runtime_api) "scenario_$SCENARIO" ;;
*)
    echo "faults.sh: unknown scenario $SCENARIO" >&2
    exit 2
    ;;
esac
finish
