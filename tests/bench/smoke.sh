#!/usr/bin/env bash
# smoke.sh -- scripts/bench --smoke end to end (every step once, a handful of invocations) with the
# binaries of this build, into a temporary folder: the three outputs are written and hold every
# section.  No figure is compared with a target: speed lives in the benchmark, not in tests.
#
# usage: smoke.sh SOURCE_DIR BUILD_DIR
set -u
src=$1
bd=$2
out=$(mktemp -d /tmp/vz-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
fails=0
check() {
    local name=$1
    shift
    if "$@"; then echo "ok: $name"; else echo "FAIL: $name" >&2; fails=$((fails + 1)); fi
}
if ! "$src/scripts/bench" --smoke --no-build --build-dir "$bd" --out "$out" >"$out/log" 2>&1; then
    echo "FAIL: scripts/bench --smoke exited non-zero:" >&2
    tail -n 40 "$out/log" >&2
    exit 1
fi
j() { jq -e "$1" "$out/results.json" >/dev/null; }
check "RESULTS.md has the table and the machine" grep -q '^| measurement | median | min | max | unit | target |' "$out/RESULTS.md"
check "RESULTS.md names the mode" grep -q 'scripts/bench --smoke' "$out/RESULTS.md"
check "machine recorded" j '.machine.nproc >= 1 and (.machine.cpu | length > 0) and (.machine.loadAverageAtStart | length > 0)'
check "cold start: 3 processes, first response after first /next" \
    j '.coldStart.processes == 3 and .coldStart.firstNextMs.min > 0 and .coldStart.firstResponseMs.min >= .coldStart.firstNextMs.min'
check "overhead: both runtimes and the WARN variant measured, no error" \
    j '.overhead.baselinePerSecond.median > 0 and .overhead.vzEventsPerSecond.median > 0 and .overhead.warnPerSecond.median > 0 and .overhead.errors == 0'
check "parse case measured" j '.parse["1000x1KiB"].usPerRecord.median > 0'
check "three handlers, no failed record, round trips counted three ways" \
    j '(.handlers | length) == 3 and ([.handlers[] | .failed] | add) == 0 and ([.handlers[] | .roundTripsPerBatch | .databaseLayer.median > 0 and .strace > 0 and .pgStatStatementsPerBatch > 0] | all)'
check "handlers through the emulator: no error, RSS read" \
    j '.handlersThroughEmulator.errors == 0 and .handlersThroughEmulator.vmHwmKiB > 0 and .handlersThroughEmulator.rssAnonKiB > 0'
check "memory series read from /proc" j '(.memory.series | length) == 2 and .memory.series[0].vmRssKiB > 0'
check "zip size" j '.zipBytes > 0'
check "reconcile: scan, fix, rescan over the whole table; the rescan finds no drift" \
    j '([.reconcile.passes[].pass] == ["scan","fix","rescan"]) and ([.reconcile.passes[] | .complete and .scanned > 0 and .failed == 0] | all) and .reconcile.passes[1].fixed == .reconcile.passes[0].drift and .reconcile.passes[2].drift == 0'
check "RESULTS.md has the reconcile rows" grep -q '^| 7. reconcile `crash_update_location`' "$out/RESULTS.md"
check "stub: the three runtimes started and timed, steady CPU read, handlers' peak RSS read" \
    j '([.stub.coldFirstNextMs[] | .median > 0] | all) and .stub.coldLeanOverDynamic.median > 0 and ([.stub.cpuUsPerInvocation[] | .median > 0] | all) and .stub.handlersPeakRssKiB.lean > 0 and .stub.errors == 0'
check "stub: CPU per invocation both pinned to one CPU (the headline) and unpinned, ratios to the bare loop" \
    j '.stub.headline == "pinned" and (.stub.pinned.cpuOverBaseline.lean.median > 0) and (.stub.unpinned.cpuOverBaseline.lean.median > 0) and ([.stub.pinned.cpuUsPerInvocation[] | .median > 0] | all)'
check "RESULTS.md has the pinned and the unpinned rows" bash -c \
    "grep -q '^| 8. stub, pinned to one CPU (headline): CPU per invocation, lean bootstrap / bare loop' '$out/RESULTS.md' && grep -q '^| 8. stub, unpinned: CPU per invocation, lean bootstrap / bare loop' '$out/RESULTS.md'"
check "an unknown row is refused, naming the known ones" bash -c \
    "'$src/scripts/bench' --rows cold,nope --no-build --build-dir '$bd' --out '$out/x' 2>&1 >/dev/null | grep -q \"unknown row 'nope'.*known: cold,overhead\"; [ \"\${PIPESTATUS[0]}\" = 2 ]"
check "plot is an SVG with one curve per handler" bash -c \
    "grep -q '<svg' '$out/batch-latency.svg' && [ \$(grep -c 'crash_update_' '$out/batch-latency.svg') -ge 3 ]"
echo "bench smoke: $fails failed"
test "$fails" -eq 0
