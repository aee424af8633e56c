#!/usr/bin/env bash
# scenarios.sh -- the Lambda runtime loop of vz-events against vz-emulator, over real HTTP.
#
# usage: scenarios.sh SCENARIO VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR
# Each scenario starts vz-emulator (libmicrohttpd, free ports on 127.0.0.1)
# with the runtime as its child and drives invocations with curl.  Failures
# of the Runtime API are injected with the emulator's --test-fault flag.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh" "$@"

BATCH_ANSWER='{"batchItemFailures":[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"},{"itemIdentifier":"00000007-0000-4000-8000-000000000007"}]}'

# A batch with failures, an invalid event, concurrent invocations, one kept-alive runtime.
scenario_batch() {
    # Proxies in the environment must not be used for the Runtime API host.
    export http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
    start_emu -- "$VZ"
    invoke b1 -d @"$FX/sqs-batch.json"
    check "batch answered 200 without function error" succeeded b1
    check "batch reports exactly records 3 and 7" body_is b1 "$BATCH_ANSWER"
    check "request id header" test -n "$(header_of b1 X-Amzn-RequestId)"
    check "runtime logged its request id" log_has "\[$(header_of b1 X-Amzn-RequestId)\] record 9 succeeded"

    invoke e1 -d @"$FX/not-sqs.json"
    check "invalid event: 200 with X-Amz-Function-Error" header_is e1 X-Amz-Function-Error Unhandled
    check "invalid event: error type header posted" header_is e1 Lambda-Runtime-Function-Error-Type Function.InvalidEvent
    check "invalid event: Lambda's error document" jq_true e1 '.errorType == "Function.InvalidEvent" and (.errorMessage | test("not an SQS batch|neither an SQS batch")) and .stackTrace == []'
    check "emulator saw the error type header" log_has 'error with Lambda-Runtime-Function-Error-Type: Function.InvalidEvent'

    local pids=()
    for i in 1 2 3 4 5 6; do
        invoke "c$i" -d @"$FX/sqs-batch.json" &
        pids+=($!)
    done
    wait "${pids[@]}"
    local ok=0
    for i in 1 2 3 4 5 6; do body_is "c$i" "$BATCH_ANSWER" && ok=$((ok + 1)); done
    check "6 concurrent invocations, queued, all answered" test "$ok" -eq 6
    check "one runtime served them all" starts_are 1
    check "the runtime never exited" bash -c "! grep -q 'exited' '$tmp/emu.log'"
    check "invocation id echoed (no post rejected)" bash -c "! grep -qE -- '-> 4[0-9][0-9]' '$tmp/emu.log'"
    check "no body in the logs" bash -c "! grep -q update_crash_location '$tmp/emu.log'"
    invoke big -d @"$FX/sqs-large-body.json"
    check "256 KiB body through HTTP" body_is big '{"batchItemFailures":[]}'
}

# request_id_of NAME: the Lambda request id of an invocation's answer
request_id_of() { header_of "$1" X-Amzn-RequestId; }

# Every row of the status policy of the Runtime API (lambda-contract.md section 1).
scenario_status_policy() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    # 202: go on with /next -- covered by every scenario; here: two in a row on one runtime.
    # /next 500: the runtime exits non-zero at once; the next invocation gets a new runtime.
    start_emu --test-fault next-500:1 -- "$VZ"
    check "next 500: runtime exits with status 1" wait_log 'runtime pid [0-9]+ exited \(exit status 1\)'
    check "next 500: says what failed and where" log_has "answered 500 to GET /next.*exiting"
    check "next 500: no retry of /next" log_count_is 'runtime API GET /2018-06-01/runtime/invocation/next -> 500' 1
    invoke a -d @"$FX/sqs-batch.json"
    check "next 500: the restarted runtime answers" body_is a "$BATCH_ANSWER"
    check "next 500: restarted once" starts_are 2
    stop_emu

    # /next 403: logged, asked again (with a pause), no exit.
    start_emu --test-fault next-403:2 -- env VZ_RUNTIME_BACKOFF_MS=10 "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "next 403: invocation served" body_is a "$BATCH_ANSWER"
    check "next 403: logged twice" log_count_is 'answered 403 to GET /next' 2
    check "next 403: runtime kept" starts_are 1
    check "next 403: no exit" bash -c "! grep -q 'exited' '$tmp/emu.log'"
    stop_emu

    # /response 400 and 403: logged, not repeated, no /error, the runtime goes on.
    local st
    for st in 400 403; do
        start_emu --test-fault "response-$st:1" -- "$VZ"
        invoke a -d @"$FX/sqs-batch.json"
        local rid
        rid=$(request_id_of a)
        check "response $st: the invoker sees the rejection" error_type_is a Emulator.TestFault
        check "response $st: logged" log_has "answered $st to POST /2018-06-01/runtime/invocation/$rid/response.*going on"
        check "response $st: not repeated" log_count_is "runtime API POST /2018-06-01/runtime/invocation/$rid/response" 1
        check "response $st: no /error posted" bash -c "! grep -q 'invocation/$rid/error' '$tmp/emu.log'"
        invoke b -d @"$FX/sqs-batch.json"
        check "response $st: next invocation on the same runtime" body_is b "$BATCH_ANSWER"
        check "response $st: runtime kept" starts_are 1
        stop_emu
    done

    # /error 400 and 403: likewise.
    for st in 400 403; do
        start_emu --test-fault "error-$st:1" -- "$VZ"
        invoke a -d @"$FX/not-sqs.json"
        rid=$(request_id_of a)
        check "error $st: the invoker sees the rejection" error_type_is a Emulator.TestFault
        check "error $st: logged" log_has "answered $st to POST /2018-06-01/runtime/invocation/$rid/error.*going on"
        check "error $st: not repeated" log_count_is "runtime API POST /2018-06-01/runtime/invocation/$rid/error" 1
        invoke b -d @"$FX/sqs-batch.json"
        check "error $st: next invocation on the same runtime" body_is b "$BATCH_ANSWER"
        check "error $st: runtime kept" starts_are 1
        stop_emu
    done

    # /response 500 and /error 500: exit non-zero; the next invocation gets a new runtime.
    local kind ev
    for kind in response error; do
        ev=$FX/sqs-batch.json
        [ "$kind" = error ] && ev=$FX/not-sqs.json
        start_emu --test-fault "$kind-500:1" -- "$VZ"
        invoke a -d @"$ev"
        check "$kind 500: the invoker sees the failure" error_type_is a Emulator.TestFault
        check "$kind 500: runtime exits with status 1" wait_log 'runtime pid [0-9]+ exited \(exit status 1\)'
        check "$kind 500: says so" log_has "answered 500 to POST /2018-06-01/runtime/invocation/.*/$kind.*exiting"
        invoke b -d @"$FX/sqs-batch.json"
        check "$kind 500: restarted runtime answers" body_is b "$BATCH_ANSWER"
        check "$kind 500: restarted once" starts_are 2
        stop_emu
    done
    # 413 is scenario too_large; transport errors are scenario transport.
}

# Transport errors: retried with backoff; when they persist, exit 1 with what failed and where.
scenario_transport() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    # libcurl itself resends once a request whose reused connection died; the second drop is ours to retry.
    start_emu --test-fault next-drop:2 --test-fault response-drop:2 -- env VZ_RUNTIME_BACKOFF_MS=20 "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "dropped /next and /response: invocation still answered" body_is a "$BATCH_ANSWER"
    check "dropped /next retried with backoff" log_has 'GET /2018-06-01/runtime/invocation/next to the Runtime API at 127.0.0.1:[0-9]+ failed \(.*\); attempt 2 of 6 in 20 ms'
    check "second retry waits twice as long" log_has 'invocation/next to the Runtime API .* attempt 3 of 6 in 40 ms'
    check "dropped /response retried" log_has 'POST /2018-06-01/runtime/invocation/[^ ]*/response to the Runtime API .* attempt 2 of 6'
    check "dropped /response: posted until accepted" log_count_is 'runtime API POST /2018-06-01/runtime/invocation/[^ ]*/response' 3
    check "one runtime, no exit" starts_are 1
    stop_emu

    # A Runtime API that never answers: bounded retries, then exit 1 from inside the emulator.
    start_emu --test-fault next-drop -- env VZ_RUNTIME_MAX_ATTEMPTS=3 VZ_RUNTIME_BACKOFF_MS=10 "$VZ"
    check "persistent drops: runtime exits 1" wait_log 'runtime pid [0-9]+ exited \(exit status 1\)'
    check "persistent drops: a clear last line" log_has 'did not answer GET /2018-06-01/runtime/invocation/next after 3 attempts over [0-9]+ ms \(last error: .*\); exiting'
    local closed=$RAPI_PORT
    stop_emu

    # Nothing listening at all (the emulator's old port, now closed).
    local rc
    env VZ_RUNTIME_MAX_ATTEMPTS=4 VZ_RUNTIME_BACKOFF_MS=10 AWS_LAMBDA_RUNTIME_API=127.0.0.1:$closed \
        timeout 60 ${VZ_VALGRIND:-} "$VZ" 2>"$tmp/direct.log"
    rc=$?
    check "unreachable: exit status 1" test "$rc" -eq 1
    check "unreachable: names the call, the address, the attempts and the cause" \
        grep -qE "at 127.0.0.1:$closed did not answer GET /2018-06-01/runtime/invocation/next after 4 attempts .*(refused|connect)" "$tmp/direct.log"
    check "unreachable: 3 retries logged" test "$(grep -c 'attempt [234] of 4' "$tmp/direct.log")" -eq 3
}

# Deadlines: records not started near the deadline are reported; a handler past it is cut off.
scenario_deadline() {
    local bodies=() i
    for i in $(seq 40); do bodies+=('{"sleep_ms":100}'); done
    event d slow_test "${bodies[@]}"
    start_emu --timeout 3 -- "$VZT"
    invoke d -d @"$tmp/d.json"
    check "near the deadline: answered in time, no function error" succeeded d
    local n
    n=$(jq '.batchItemFailures | length' "$tmp/d" 2>/dev/null || echo 0)
    check "near the deadline: some records not started ($n)" test "$n" -ge 5 -a "$n" -le 30
    check "near the deadline: the reported ones are exactly the last $n" \
        jq -e --slurpfile ev "$tmp/d.json" "[.batchItemFailures[].itemIdentifier] == [\$ev[0].Records[-$n:][].messageId]" "$tmp/d"
    check "near the deadline: logged as skipped" log_count_is 'outcome=skipped' "$n"
    check "near the deadline: no timeout" bash -c "! grep -q Sandbox.Timedout '$tmp/emu.log'"

    event t slow_test '{"sleep_ms":20000}'
    invoke t -d @"$tmp/t.json"
    check "past the deadline: Sandbox.Timedout" error_type_is t Sandbox.Timedout
    check "past the deadline: message" jq_true t '.errorMessage == "Task timed out after 3.00 seconds"'
    check "past the deadline: runtime killed" wait_log 'runtime pid [0-9]+ exited \(signal 9\)'
    invoke after -d @"$FX/sqs-batch.json"
    check "past the deadline: a new runtime answers the next one" body_is after "$BATCH_ANSWER"
    check "past the deadline: restarted once" starts_are 2
}

# The runtime killed in the middle of an invocation: Runtime.ExitError, then restarted.
scenario_killed() {
    event k slow_test '{"sleep_ms":30000}'
    start_emu -- "$VZT"
    invoke k -d @"$tmp/k.json" &
    local cpid=$!
    check "handler running" wait_log 'slow: sleeping 30000'
    kill -KILL "$(runtime_pid)"
    wait "$cpid"
    check "killed: Runtime.ExitError" error_type_is k Runtime.ExitError
    check "killed: says how it died" jq_true k '.errorMessage | test("Runtime exited with error: signal 9")'
    check "killed: X-Amz-Function-Error" header_is k X-Amz-Function-Error Unhandled
    invoke b -d @"$FX/sqs-batch.json"
    check "killed: restarted runtime answers" body_is b "$BATCH_ANSWER"
    check "killed: restarted once" starts_are 2
}

# Invocations that arrive while one runs wait in a queue and are served in arrival order.
scenario_queue_order() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    local pids=() i
    event first slow_test '{"sleep_ms":3000}'
    for i in 1 2 3; do event "q$i" slow_test "{\"sleep_ms\":$i}"; done
    start_emu -- "$VZT"
    invoke first -d @"$tmp/first.json" &
    pids+=($!)
    check "first invocation running" wait_log 'slow: sleeping 3000 ms'
    for i in 1 2 3; do
        invoke "q$i" -d @"$tmp/q$i.json" &
        pids+=($!)
        # the first invocation logged "queued (1 waiting)" too: wait for this one's own line
        check "invocation $i queued behind the running one" wait_count "queued \([0-9]+ waiting\)" $((i + 1))
        check "invocation $i is number $i in the queue" test "$(grep -oE 'queued \([0-9]+ waiting\)' "$tmp/emu.log" | tail -1)" = "queued ($i waiting)"
    done
    wait "${pids[@]}"
    check "served in arrival order" test "$(grep -oE 'slow: sleeping [0-9]+ ms' "$tmp/emu.log" | grep -oE '[0-9]+' | tr '\n' ' ')" = "3000 1 2 3 "
    local ok=0
    for i in first q1 q2 q3; do body_is "$i" '{"batchItemFailures":[]}' && ok=$((ok + 1)); done
    check "all four answered" test "$ok" -eq 4
    check "one runtime" starts_are 1
}

# A response over 6 MB: the Runtime API answers 413; the runtime logs it, posts no /error, goes on.
scenario_too_large() {
    local id i
    id=$(head -c 20000 /dev/zero | tr '\0' 'x')
    {
        printf '{"Records":['
        for i in $(seq 340); do
            [ "$i" -gt 1 ] && printf ','
            printf '{"messageId":"%04d-%s","body":"{}","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:atd-vz-data-events-nowhere_test","awsRegion":"us-east-1"}' "$i" "$id"
        done
        printf ']}'
    } >"$tmp/big.json"
    start_emu --max-event-bytes 16000000 -- env AWS_LAMBDA_LOG_LEVEL=WARN "$VZ"
    invoke big -d @"$tmp/big.json"
    local rid
    rid=$(request_id_of big)
    check "413: the invoker gets Function.ResponseSizeTooLarge" error_type_is big Function.ResponseSizeTooLarge
    check "413: the emulator answered 413" log_has "invocation/$rid/response \([0-9]{7} bytes\) -> 413"
    check "413: the runtime logged it" log_has "refused the [0-9]{7}-byte answer to POST /2018-06-01/runtime/invocation/$rid/response as too large \(413"
    check "413: no /error posted" bash -c "! grep -q 'invocation/$rid/error' '$tmp/emu.log'"
    invoke b -d @"$FX/sqs-batch.json"
    check "413: the runtime goes on" body_is b "$BATCH_ANSWER"
    check "413: runtime kept" starts_are 1
    stop_emu
    start_emu -- "$VZ"
    invoke over -d @"$tmp/big.json"
    check "an event over the invoke limit: 413 from the front" code_is over 413
}

# Initialisation failures go to /runtime/init/error and the runtime exits 1.
scenario_init_error() {
    start_emu -- env VZ_DEADLINE_MARGIN_MS=soon "$VZ"
    check "bad config: runtime exits 1" wait_log 'runtime pid [0-9]+ exited \(exit status 1\)'
    check "bad config: posted to /runtime/init/error with its type" log_has 'init/error with Lambda-Runtime-Function-Error-Type: Runtime.InvalidConfiguration'
    invoke a -d @"$FX/sqs-batch.json"
    check "bad config: the invoker gets the init error" error_type_is a Runtime.InvalidConfiguration
    check "bad config: names the variable" jq_true a '.errorMessage | contains("VZ_DEADLINE_MARGIN_MS")'
    invoke b -d @"$FX/sqs-batch.json"
    check "bad config: a new runtime fails the same way" error_type_is b Runtime.InvalidConfiguration
    check "bad config: one restart per invocation" starts_are 2
    stop_emu

    start_emu -- env VZ_RUNTIME_MAX_ATTEMPTS=0 "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "bad runtime setting: init error" jq_true a '.errorType == "Runtime.InvalidConfiguration" and (.errorMessage | contains("VZ_RUNTIME_MAX_ATTEMPTS"))'
    stop_emu

    start_emu -- env _HANDLER=nope "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "unknown _HANDLER: Runtime.HandlerNotFound" error_type_is a Runtime.HandlerNotFound
    stop_emu

    start_emu -- env VZ_TEST_INIT_FAIL="database unreachable" "$VZT"
    invoke a -d @"$FX/sqs-batch.json"
    check "handler init hook: its own type and message" jq_true a '.errorType == "Function.TestInitFailure" and .errorMessage == "database unreachable"'
    check "handler init hook: exit 1" wait_log 'runtime pid [0-9]+ exited \(exit status 1\)'
}

# Error text that is not ASCII arrives as valid, escaped JSON, intact.
scenario_non_ascii() {
    local msg='Straßenname fehlt — „Ünïcödé“ ✓ 🚲 "quoted" \ back'
    start_emu -- env VZ_TEST_INIT_FAIL="$msg" "$VZT"
    invoke a -d @"$FX/sqs-batch.json"
    check "non-ASCII: valid UTF-8" iconv -f UTF-8 -t UTF-8 "$tmp/a" -o /dev/null
    check "non-ASCII: the message intact" jq -e --arg m "$msg" '.errorMessage == $m and .errorType == "Function.TestInitFailure"' "$tmp/a"
    stop_emu

    start_emu -- env _HANDLER='café_ñandú' "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "non-ASCII handler name intact" jq_true a '.errorType == "Runtime.HandlerNotFound" and (.errorMessage | contains("café_ñandú"))'
    stop_emu

    # A name cut at 64 bytes in the middle of "é": the broken byte is replaced, the JSON stays valid.
    start_emu -- env _HANDLER="$(printf 'a%.0s' $(seq 63))é" "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    check "cut multi-byte character: valid UTF-8" iconv -f UTF-8 -t UTF-8 "$tmp/a" -o /dev/null
    check "cut multi-byte character: valid JSON" jq_true a '.errorMessage | contains("a?\"")'
}

# SIGTERM: finish what runs, answer it, exit 0.
scenario_sigterm() {
    start_emu -- "$VZ"
    invoke a -d @"$FX/sqs-batch.json"
    local pid
    pid=$(runtime_pid)
    kill -TERM "$pid"
    check "idle: exit status 0" wait_log "runtime pid $pid exited \(exit status 0\)" 10
    check "idle: says why" log_has 'stop signal received: shutting down after 1 invocations'
    stop_emu

    event s slow_test '{"sleep_ms":3000}'
    start_emu -- "$VZT"
    invoke s -d @"$tmp/s.json" &
    local cpid=$!
    check "busy: handler running" wait_log 'slow: sleeping 3000'
    pid=$(runtime_pid)
    kill -TERM "$pid"
    wait "$cpid"
    check "busy: the running invocation is finished and answered" body_is s '{"batchItemFailures":[]}'
    check "busy: then exit status 0" wait_log "runtime pid $pid exited \(exit status 0\)" 10

    # The emulator's own SIGTERM passes SIGTERM to its runtime, which exits 0.
    invoke b -d @"$FX/sqs-batch.json"
    pid=$(runtime_pid)
    stop_emu
    check "emulator stop: emulator exits 0" test "$EMU_RC" -eq 0
    check "emulator stop: its runtime exits 0" log_has "runtime pid $pid exited \(exit status 0\)"
}

# What /next carries reaches the invocation: trace id (and _X_AMZN_TRACE_ID), deadline, ARN, ids.
scenario_context() {
    export AWS_LAMBDA_LOG_LEVEL=DEBUG
    event t trace_test '{}'
    local trace='Root=1-5f84c7a9-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1'
    start_emu --timeout 7 --test-fault no-trace-id -- "$VZT"
    invoke t1 -d @"$tmp/t.json" -H "X-Amzn-Trace-Id: $trace" -H 'X-Amz-Tenant-Id: tenant-42' \
        -H "X-Amz-Client-Context: $(printf '%s' '{"client":{"app_title":"vz"}}' | base64 -w0)" -H 'X-Amz-Cognito-Identity: {"id":"us-east-1:abc"}'
    check "trace: answered" succeeded t1
    check "trace: in _X_AMZN_TRACE_ID and the context" log_has "trace: env=$trace ctx=$trace "
    check "trace: function ARN" log_has 'arn=arn:aws:lambda:us-east-1:012345678912:function:function '
    local left
    left=$(grep -oE 'trace: .* remaining_ms=[0-9-]+' "$tmp/emu.log" | head -1 | grep -oE '[0-9-]+$')
    check "deadline reaches the handler (${left:-none} ms left of 7000)" test "${left:-0}" -gt 5000 -a "${left:-0}" -le 7000
    check "tenant id parsed" log_has 'tenant tenant-42,'
    check "client context parsed (size only)" log_has 'client context 29 bytes, cognito identity 22 bytes'
    check "invocation id parsed" log_has 'invocation id [0-9a-f-]{36},'
    check "tenant, invocation id, client context and identity reach the handler's context" \
        log_has 'trace: tenant=tenant-42 invocation=[0-9a-f-]{36} client_context_bytes=29 cognito_bytes=22'
    invoke t2 -d @"$tmp/t.json"
    check "no trace header: _X_AMZN_TRACE_ID unset again" log_has 'trace: env=\(unset\) ctx=\(none\)'
    invoke t3 -d @"$tmp/t.json" -H 'X-Amzn-Trace-Id: Root=1-00000000-000000000000000000000003'
    check "trace set again" log_has 'trace: env=Root=1-00000000-000000000000000000000003 '
    check "invocation id echoed on every response" test "$(log_count 'runtime API POST .*/response \([0-9]+ bytes\) -> 202')" -eq 3
}

case "$SCENARIO" in
batch | status_policy | transport | deadline | killed | queue_order | too_large | init_error | non_ascii | sigterm | context)
    "scenario_$SCENARIO"
    ;;
*)
    echo "scenarios.sh: unknown scenario $SCENARIO" >&2
    exit 2
    ;;
esac
finish
