#!/usr/bin/env bash
# package_flow_test.sh -- the zip's own bootstrap runs the whole local flow: the endpoint and the three handlers.
#
# usage: package_flow_test.sh SOURCE_DIR BUILD_DIR
#
# Packages the build (scripts/package: the lean bootstrap), unpacks the zip and
# starts the local flow (scripts/flow: the local SQS server, a throwaway PostGIS
# with the sample city, vz-emulator with the function URL front and the SQS
# event source mappings) with the unpacked bootstrap as the runtime, under
# Lambda's LD_LIBRARY_PATH (the system's folders first).  Then:
#   - Hasura events posted to /events/ are queued: the endpoint, through the
#     zip's HTTPS libcurl, signs SigV4 to the local SQS server;
#   - the three handlers change PostGIS as the sample city says (crash 5's
#     location, crash 2's jurisdiction flag, report 101's location);
#   - the runtime process is the zip's binary, and what it has mapped comes from
#     the zip (libpq, the HTTPS libcurl, libpq's libraries) or the allow-list.
# Fails (never skips) when any server cannot start.
set -u
export VZ_FLOW_STAGE=zip VZ_FLOW_VISIBILITY=4 VZ_FLOW_WAIT=1 VZ_FLOW_WINDOW=0 VZ_FLOW_TIMEOUT=20
# shellcheck source=flow_lib.sh
. "$(dirname "$0")/flow_lib.sh"
flow_test package_flow "$1" "$2"
. "$(dirname "$0")/check.sh"
# shellcheck source=package_lib.sh
. "$(dirname "$0")/package_lib.sh"
allowed=$(image_libraries "$src")
package_unpacked "$src" "$build" "$tmp"

export VZ_FLOW_RUNTIME=$task/bootstrap
export LAMBDA_TASK_ROOT=$task
export LD_LIBRARY_PATH="/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:$task:$task/lib:/opt/lib"
flow_up
unset LD_LIBRARY_PATH # for psql and curl here; the flow's runtime has it

payload() { # payload FIELD KEY: a Hasura UPDATE event naming one row
    printf '{"event":{"session_variables":{"x-hasura-role":"admin"},"op":"UPDATE","data":{"old":{"%s":%s},"new":{"%s":%s}}},"created_at":"2020-07-06T09:32:56.057539Z","id":"zip-%s","delivery_info":{"max_retries":0,"current_retry":0},"trigger":{"name":"package_flow"},"table":{"schema":"public","name":"t"}}' \
        "$1" "$2" "$1" "$2" "$2"
}
post() { # post NAME BODY: prints the HTTP status
    curl -sS -o "$tmp/answer" -w '%{http_code}' -X POST -H "HASURA_EVENT_API: $HASURA_EVENT_API" \
        -H "HASURA_EVENT_NAME: $1" -H 'Content-Type: application/json' --data-binary "$2" "$VZ_FLOW_URL"
}
# shellcheck source=runtime/servers_lib.sh
. "$(dirname "$0")/runtime/servers_lib.sh" # q, location, flag
report() { q "SELECT coalesce(location_id, 'NULL') FROM atd_apd_blueform WHERE case_id = $1"; }

check "crash 5 starts without a location" test "$(location 5)" = NULL
check "crash 2 starts outside full purpose" test "$(flag 2)" = N
check "report 101 starts without a location" test "$(report 101)" = NULL

check "endpoint queues crash_update_location (HTTP 200)" test "$(post crash_update_location_zip "$(payload crash_id 5)")" = 200
check "endpoint queues crash_update_jurisdiction (HTTP 200)" test "$(post crash_update_jurisdiction_zip "$(payload crash_id 2)")" = 200
check "endpoint queues crash_update_noncr3_location (HTTP 200)" \
    test "$(post crash_update_noncr3_location_zip "$(payload case_id 101)")" = 200

# The endpoint delays messages (10 s); the mappings then deliver them to the same runtime.
for _ in $(seq 1 120); do
    [ "$(location 5)" = SVRD-A-E1 ] && [ "$(flag 2)" = Y ] && [ "$(report 101)" = INT-1 ] && break
    sleep 0.5
done
check "crash_update_location through the zip: crash 5 → SVRD-A-E1" test "$(location 5)" = SVRD-A-E1
check "crash_update_jurisdiction through the zip: crash 2 → full purpose Y" test "$(flag 2)" = Y
check "crash_update_noncr3_location through the zip: report 101 → INT-1" test "$(report 101)" = INT-1
log=$tmp/flow/emulator.log
check "the endpoint's sends succeeded (no SQS error in the log)" bash -c '! grep -qE "SQS\.|HTTPS library" "$1"' _ "$log"

pid=$(curl -sf "http://127.0.0.1:$(cut -d' ' -f1 "$tmp/flow/invoke.port")/vz-emulator/stats" | jq -r .pid)
check "the runtime process is running" test "${pid:-0}" -gt 0
if [ "${pid:-0}" -gt 0 ]; then
    check "the runtime is the zip's bootstrap" test "$(readlink "/proc/$pid/exe")" = "$task/bootstrap"
    mapped_objects "$pid" >"$tmp/maps"
    check "libpq mapped from the zip" grep -q "^$task/lib/libpq.so" "$tmp/maps"
    check "the HTTPS libcurl mapped from the zip" grep -qx "$task/lib/libvz-curl-https.so" "$tmp/maps"
    check "nothing mapped from outside the zip but the allow-list" only_zip_or_image "$tmp/maps"
    echo "mapped by the zip's runtime after the flow:"
    sed 's/^/  /' "$tmp/maps"
fi

if [ "$fails" -ne 0 ]; then
    echo "--- emulator log (last 40 lines)" >&2
    tail -40 "$log" >&2
fi
echo "package flow: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
