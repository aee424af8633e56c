#!/usr/bin/env bash
# scripted_runtime.sh DIR -- a Lambda runtime in bash and curl, for the emulator's own tests.
#
# It speaks the real Runtime API: for the Nth invocation it saves the event as
# DIR/event.N, then posts DIR/answer.N as the response (default
# {"batchItemFailures":[]}), or an error when that file holds ERROR, and
# touches DIR/done.N.  Tests write answer files before the events come.
set -u
dir=$1
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation
n=0
while :; do
    n=$((n + 1))
    curl -sS -D "$dir/headers.$n" -o "$dir/event.$n" "$api/next" || exit 1
    id=$(tr -d '\r' <"$dir/headers.$n" | awk 'tolower($1) == "lambda-runtime-aws-request-id:" { print $2 }')
    inv=$(tr -d '\r' <"$dir/headers.$n" | awk 'tolower($1) == "lambda-runtime-invocation-id:" { print $2 }')
    answer='{"batchItemFailures":[]}'
    [ -f "$dir/answer.$n" ] && answer=$(cat "$dir/answer.$n")
    if [ "$answer" = ERROR ]; then
        curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Function.ScriptedError' \
            -H "Lambda-Runtime-Invocation-Id: $inv" \
            -d '{"errorMessage":"scripted failure","errorType":"Function.ScriptedError","stackTrace":[]}' "$api/$id/error"
    else
        curl -sS -o /dev/null -X POST -H "Lambda-Runtime-Invocation-Id: $inv" --data-binary "$answer" "$api/$id/response"
    fi
    touch "$dir/done.$n"
done
