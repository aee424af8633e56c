#!/usr/bin/env bash
# memory.sh -- the runtime's memory over many invocations in one process, behind vz-emulator.
#
# usage: memory.sh rss|leaks VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR
#   rss    resident memory (VmRSS of the vz-events process) after 10,000 invocations
#          is within 1 MiB of that after 100
#   leaks  valgrind memcheck finds no definite or indirect leak and no error after 1,000
#          invocations (answers and errors), ended by SIGTERM as Lambda ends it
# Invocations go through one curl process per batch of requests (a config file of
# URLs), over real HTTP on 127.0.0.1.
mode=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh" "$mode" "$@"

# run_many COUNT EVENT_FILE: COUNT invocations; prints "STATUS SIZE" per answer into $tmp/many
run_many() {
    local n=$1 ev=$2 i
    {
        echo "data-binary = \"@$ev\""
        echo "write-out = \"%{http_code} %{size_download}\\n\""
        for i in $(seq "$n"); do
            echo "url = \"$URL\""
            echo 'output = "/dev/null"'
        done
    } >"$tmp/curl.cfg"
    curl -s --noproxy '*' --max-time 1200 -K "$tmp/curl.cfg" >"$tmp/many"
}
# answers_are COUNT STATUS SIZE: every answer of the last run_many was STATUS with SIZE bytes
answers_are() { [ "$(grep -c "^$2 $3\$" "$tmp/many")" -eq "$1" ]; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

event one example_test '{"crash_id":1}'
case "$mode" in
rss)
    start_emu -- env AWS_LAMBDA_LOG_LEVEL=ERROR "$VZ"
    run_many 100 "$tmp/one.json"
    check "first 100 answered" answers_are 100 200 24
    pid=$(runtime_pid)
    before=$(rss_kib "$pid")
    run_many 9900 "$tmp/one.json"
    check "next 9,900 answered" answers_are 9900 200 24
    check "same runtime process" test "$(runtime_pid)" = "$pid"
    after=$(rss_kib "$pid")
    echo "VmRSS of vz-events: ${before} KiB after 100 invocations, ${after} KiB after 10,000"
    check "RSS after 10,000 within 1 MiB of RSS after 100 (${before} -> ${after} KiB)" \
        test $((after - before)) -le 1024
    ;;
leaks)
    start_emu -- valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-origins=yes \
        --log-file="$tmp/valgrind.log" "$VZ"
    run_many 900 "$FX/sqs-batch.json"
    check "900 batches answered" answers_are 900 200 139
    run_many 100 "$FX/not-sqs.json"
    check "100 invalid events answered with errors" answers_are 100 200 168
    pid=$(runtime_pid)
    kill -TERM "$pid"
    check "runtime ended by SIGTERM, exit 0 under valgrind (99 = leak or error)" \
        wait_log "runtime pid $pid exited \(exit status 0\)" 60
    check "valgrind reported nothing" test ! -s "$tmp/valgrind.log"
    [ -s "$tmp/valgrind.log" ] && head -60 "$tmp/valgrind.log" >&2
    check "1,000 invocations in one process" starts_are 1
    ;;
*)
    echo "memory.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
finish
