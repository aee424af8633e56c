#!/usr/bin/env bash
# e2e_test.sh -- Hasura → /events/ → SQS → event source mapping → vz-events → PostGIS, all real peers.
# usage: e2e_test.sh SOURCE_DIR BUILD_DIR
#
# Starts its own flow (scripts/flow: local-aws-sqs from npm, a throwaway PostGIS
# with the sample city, vz-emulator with the function URL front and the SQS
# event source mappings, vz-events) and stops it at the end.  Checks:
#   - a wrong key gets 403 and queues nothing;
#   - good events change the database;
#   - in a mixed batch, the good messages are processed and deleted once and
#     the one naming a crash that does not exist is received three times,
#     then sits in the dead-letter queue;
#   - an event for handler example (not one of the three) is queued and processed:
#     scripts/flow gives every handler folder its queue;
#   - the queues are empty at the end.
# Fails (never skips) when any server cannot start.
set -u
export VZ_FLOW_STAGE=e2e VZ_FLOW_VISIBILITY=4 VZ_FLOW_WAIT=2 VZ_FLOW_WINDOW=1 VZ_FLOW_TIMEOUT=20
# shellcheck source=flow_lib.sh
. "$(dirname "$0")/flow_lib.sh"
flow_test e2e "$1" "$2"
. "$(dirname "$0")/check.sh"

flow_up
queue=atd-vz-data-events-crash_update_location_e2e
account=000000000000
qurl=$AWS_ENDPOINT_URL_SQS/$account/$queue
dlq=$AWS_ENDPOINT_URL_SQS/$account/atd-vz-data-events-deadletter_e2e

sqs() { # sqs ACTION JSON: one signed AWS JSON 1.0 call, the answer on stdout
    curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'Content-Type: application/x-amz-json-1.0' -H "X-Amz-Target: AmazonSQS.$1" -d "$2" "$AWS_ENDPOINT_URL_SQS/"
}
count() { # messages in the queue at URL $1, delayed and in flight included
    sqs GetQueueAttributes "{\"QueueUrl\":\"$1\",\"AttributeNames\":[\"All\"]}" | node -e '
      const a = JSON.parse(require("fs").readFileSync(0, "utf8")).Attributes;
      console.log(Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) +
                  Number(a.ApproximateNumberOfMessagesDelayed));'
}
payload() { # payload CRASH_ID: a Hasura UPDATE event of atd_txdot_crashes
    printf '{"event":{"session_variables":{"x-hasura-role":"admin"},"op":"UPDATE","data":{"old":{"crash_id":%s},"new":{"crash_id":%s}}},"created_at":"2020-07-06T09:32:56.057539Z","id":"e2e-%s","delivery_info":{"max_retries":0,"current_retry":0},"trigger":{"name":"update_crash_location_on_lat_lon_change"},"table":{"schema":"public","name":"atd_txdot_crashes"}}' "$1" "$1" "$1"
}
post() { # post KEY NAME BODY: prints "STATUS BODY"
    curl -sS -o "$tmp/answer" -w '%{http_code}' -X POST -H "HASURA_EVENT_API: $1" -H "HASURA_EVENT_NAME: $2" \
        -H 'Content-Type: application/json' --data-binary "$3" "$VZ_FLOW_URL"
    echo " $(cat "$tmp/answer")"
}
# shellcheck source=runtime/servers_lib.sh
. "$(dirname "$0")/runtime/servers_lib.sh" # location
msgid() { sed -n 's/.*Update queued: \([0-9a-f-]*\).*/\1/p' <<<"$1"; }

# The starting state of the sample city.
check "crash 5 starts without a location" test "$(location 5)" = NULL
check "crash 7 starts without a location" test "$(location 7)" = NULL
check "crash 2 starts at INT-1" test "$(location 2)" = INT-1

# A wrong key: 403, nothing queued.
out=$(post wrong-key crash_update_location_e2e "$(payload 5)")
check "wrong key is 403" test "${out%% *}" = 403
check "wrong key answer" grep -q '"Forbidden Request"' <<<"$out"
out=$(post "$(tr a-z A-Z <<<"$HASURA_EVENT_API")" crash_update_location_e2e "$(payload 5)")
check "key in another case is 403" test "${out%% *}" = 403
check "nothing queued after 403s" test "$(count "$qurl")" -eq 0

# A mixed batch: three crashes that exist, one that does not.
ok5=$(post "$HASURA_EVENT_API" crash_update_location_e2e "$(payload 5)")
ok7=$(post "$HASURA_EVENT_API" crash_update_location_e2e "$(payload 7)")
ok2=$(post "$HASURA_EVENT_API" crash_update_location_e2e "$(payload 2)")
bad=$(post "$HASURA_EVENT_API" crash_update_location_e2e "$(payload 999999)")
for a in "$ok5" "$ok7" "$ok2" "$bad"; do
    check "queued: $a" test "${a%% *}" = 200
done
check "four messages queued (delayed)" test "$(count "$qurl")" -eq 4
good_ids="$(msgid "$ok5") $(msgid "$ok7") $(msgid "$ok2")"
bad_id=$(msgid "$bad")
# A handler beyond the three Vision Zero ones has its queue too (scripts/flow reads handlers/).
ex=$(post "$HASURA_EVENT_API" example_e2e '{"id":"e2e-example"}')
check "an event for handler example is queued: $ex" test "${ex%% *}" = 200
ex_id=$(msgid "$ex")

# Wait for the delay (10 s), three receives of the bad one (visibility 2 s) and its move to the DLQ.
for _ in $(seq 1 90); do
    [ "$(count "$dlq")" -ge 1 ] && [ "$(count "$qurl")" -eq 0 ] &&
        grep -q "messageId=$ex_id.*outcome=succeeded" "$tmp/flow/emulator.log" && break
    sleep 1
done
log=$tmp/flow/emulator.log
check "good events changed the database: crash 5 → SVRD-A-E1" test "$(location 5)" = SVRD-A-E1
check "crash 7 → SVRD-B-S" test "$(location 7)" = SVRD-B-S
check "crash 2 → NULL" test "$(location 2)" = NULL
for id in $good_ids; do
    check "good message $id processed once" test "$(grep -c "outcome=succeeded.*messageId=$id\|messageId=$id.*outcome=succeeded" "$log")" -eq 1
done
check "the bad message failed three times" test "$(grep "messageId=$bad_id" "$log" | grep -c 'outcome=failed')" -eq 3
check "its failure names the crash" grep -q "999999 does not exist" "$log"
check "redelivered with receive counts 2 and 3" bash -c "grep -q 'SQS batch of 1 .*(receive counts 2)' '$log' && grep -q 'SQS batch of 1 .*(receive counts 3)' '$log'"
check "a mixed batch: 3 deleted, 1 left" grep -q 'SQS batch of 4 ([^)]*): 3 deleted, 1 left for redelivery (receive counts 1,1,1,1)' "$log"
check "handler example processed its event" grep -q "example received a message.*messageId=$ex_id" "$log"
check "main queue empty at the end" test "$(count "$qurl")" -eq 0
check "one message in the dead-letter queue" test "$(count "$dlq")" -eq 1
dead=$(sqs ReceiveMessage "{\"QueueUrl\":\"$dlq\",\"MaxNumberOfMessages\":10,\"AttributeNames\":[\"All\"]}")
check "the dead letter is the bad event" grep -q "$bad_id" <<<"$dead"
check "the dead letter names crash 999999" node -e '
  const m = JSON.parse(process.argv[1]).Messages[0];
  process.exit(JSON.parse(m.Body).event.data.new.crash_id === 999999 ? 0 : 1);' "$dead"
check "no body in the logs" bash -c "! grep -q 'update_crash_location_on_lat_lon_change' '$log'"
check "no key in the logs" bash -c "! grep -q '$HASURA_EVENT_API' '$log'"

if [ $fails -ne 0 ]; then
    echo "--- emulator log (last 60 lines)" >&2
    tail -60 "$log" >&2
fi
echo "e2e: $pass passed, $fails failed"
[ $fails -eq 0 ]
