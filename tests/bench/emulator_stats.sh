#!/usr/bin/env bash
# emulator_stats.sh -- what scripts/bench relies on: vz-emulator's GET /vz-emulator/stats (the
# runtime's pid and cold-start timestamps), its cold-start log line, a fresh runtime started by an
# invocation after the previous one was stopped, and bench_baseline serving invocations.
#
# usage: emulator_stats.sh VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR BENCH_BASELINE
here=$(cd "$(dirname "$0")/../runtime" && pwd)
BASELINE=$5
# shellcheck source=../runtime/lib.sh
. "$here/lib.sh" emulator_stats "$1" "$2" "$3" "$4"

stats() { curl -sf "http://127.0.0.1:$PORT/vz-emulator/stats" >"$tmp/stats.json"; }
stats_true() { stats && jq -e "$1" "$tmp/stats.json" >/dev/null; }

start_emu -- "$VZ"
check "stats: answers JSON while idle" stats_true '.starts == 1 and .responses == 0 and .running == false'
check "stats: pid is the started runtime" stats_true ".pid == $(runtime_pid)"
invoke a -d @"$FX/sqs-batch.json"
check "invocation answered" succeeded a
check "stats: spawn <= first /next <= first response <= now" stats_true \
    '.spawnNs > 0 and .firstNextNs >= .spawnNs and .firstResponseNs >= .firstNextNs and .nowNs >= .firstResponseNs and .responses == 1'
check "cold start logged once, with both figures" log_count_is \
    'cold start of runtime pid [0-9]+: first /next [0-9.]+ ms and first response [0-9.]+ ms after spawn' 1
stats
first_spawn=$(jq .spawnNs "$tmp/stats.json")
old=$(jq .pid "$tmp/stats.json")
kill -TERM "$old"
check "stopped runtime is reaped" wait_log "runtime pid $old exited"
check "stats: no runtime after the stop" stats_true '.pid == 0'
invoke b -d @"$FX/sqs-batch.json"
check "the next invocation starts a fresh runtime and is answered" succeeded b
check "stats: second start with its own timestamps" stats_true \
    ".starts == 2 and .pid != $old and .spawnNs > $first_spawn and .firstNextNs >= .spawnNs and .firstResponseNs >= .firstNextNs"
check "stats: GET only on that path, other paths still 404" bash -c \
    "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/vz-emulator/other)\" = 404 ]"
stop_emu

# The baseline runtime of the overhead benchmark answers every event with no failures.
start_emu -- "$BASELINE"
invoke c -d @"$FX/sqs-batch.json"
check "baseline answers {\"batchItemFailures\":[]}" body_is c '{"batchItemFailures":[]}'
invoke d -d @"$FX/sqs-batch.json"
check "baseline: one runtime for two invocations" starts_are 1
check "baseline: second answer too" body_is d '{"batchItemFailures":[]}'
stop_emu
finish
