# lib.sh -- helpers of the runtime integration tests (sourced by scenarios.sh and memory.sh).
#
# usage: . lib.sh NAME VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR
# Starts vz-emulator on free ports (--port 0 --port-file), invokes it with curl
# on 127.0.0.1 only, and counts checks; the log of the emulator and of the
# runtime it runs (they share stderr) is $tmp/emu.log.
set -u
SCENARIO=$1
EMU_BIN=$2
VZ=$3
VZT=$4
FX=$5
tmp=$(mktemp -d /tmp/vz-runtime.XXXXXX)
EMU_PID=
EMU_RC=

stop_emu() {
    if [ -n "$EMU_PID" ]; then
        kill -TERM "$EMU_PID" 2>/dev/null
        wait "$EMU_PID"
        EMU_RC=$?
        EMU_PID=
    fi
}
cleanup() {
    stop_emu
    # scripts/test sets VZ_TEST_LOG_DIR: logs are kept there and scanned for secrets and payloads
    if [ -n "${VZ_TEST_LOG_DIR:-}" ] && [ -s "$tmp/emu.log" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/runtime_$SCENARIO" && cp "$tmp/emu.log" "$VZ_TEST_LOG_DIR/runtime_$SCENARIO/"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"

finish() {
    if [ "$fails" -ne 0 ] && [ -s "$tmp/emu.log" ]; then
        echo "--- last lines of the emulator and runtime log:" >&2
        tail -n 80 "$tmp/emu.log" | cut -c1-400 >&2
    fi
    echo "$SCENARIO: $pass passed, $fails failed"
    test "$fails" -eq 0
}

# start_emu [emulator options...] -- COMMAND [ARGS...]
start_emu() {
    rm -f "$tmp/ports"
    : >"$tmp/emu.log"
    "$EMU_BIN" --port 0 --port-file "$tmp/ports" "$@" >>"$tmp/emu.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 400); do
        [ -s "$tmp/ports" ] && break
        kill -0 "$EMU_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ ! -s "$tmp/ports" ]; then
        echo "vz-emulator did not start:" >&2
        cat "$tmp/emu.log" >&2
        exit 1
    fi
    read -r PORT RAPI_PORT <"$tmp/ports"
    URL=http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations
}

# invoke NAME [curl options...]: body in $tmp/NAME, headers in $tmp/NAME.hdr, HTTP status in $tmp/NAME.code
invoke() {
    local n=$1
    shift
    curl -s --noproxy '*' --max-time 120 -o "$tmp/$n" -D "$tmp/$n.hdr" -w '%{http_code}' "$@" "$URL" >"$tmp/$n.code"
}

code_is() { [ "$(cat "$tmp/$1.code")" = "$2" ]; }
header_of() { grep -i "^$2:" "$tmp/$1.hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
header_is() { [ "$(header_of "$1" "$2")" = "$3" ]; }
no_header() { ! grep -qi "^$2:" "$tmp/$1.hdr"; }
body_is() { [ "$(cat "$tmp/$1")" = "$2" ]; }
jq_true() { jq -e "$2" "$tmp/$1" >/dev/null 2>&1; } # jq_true NAME FILTER
error_type_is() { jq_true "$1" ".errorType == \"$2\""; }
succeeded() { code_is "$1" 200 && no_header "$1" X-Amz-Function-Error && jq_true "$1" '.batchItemFailures | type == "array"'; }

# wait_log PATTERN [SECONDS]: wait until a line of the log matches the extended regex PATTERN
wait_log() {
    local pat=$1 secs=${2:-30}
    for _ in $(seq $((secs * 20))); do
        grep -qE -- "$pat" "$tmp/emu.log" && return 0
        sleep 0.05
    done
    return 1
}
# wait_count PATTERN N [SECONDS]: wait until N lines of the log match PATTERN
wait_count() {
    local pat=$1 n=$2 secs=${3:-30}
    for _ in $(seq $((secs * 20))); do
        [ "$(grep -cE -- "$pat" "$tmp/emu.log")" -ge "$n" ] && return 0
        sleep 0.05
    done
    return 1
}
log_has() { grep -qE -- "$1" "$tmp/emu.log"; }
log_count() { grep -cE -- "$1" "$tmp/emu.log"; }
log_count_is() { [ "$(log_count "$1")" -eq "$2" ]; }
runtime_pid() { grep -oE 'started runtime pid [0-9]+' "$tmp/emu.log" | tail -1 | grep -oE '[0-9]+$'; }
starts_are() { log_count_is 'emulator: started runtime pid' "$1"; }

# event NAME QUEUE BODY...: an SQS event in $tmp/NAME.json with one record per body string, on queue atd-vz-data-events-QUEUE
event() {
    local n=$1 q=$2 i=0
    shift 2
    local files=()
    for b in "$@"; do
        i=$((i + 1))
        printf '%s' "$b" >"$tmp/$n.body$i"
        files+=("$tmp/$n.body$i")
    done
    "$VZT" event --queue "atd-vz-data-events-$q" "${files[@]}" >"$tmp/$n.json"
}
