# flow_lib.sh -- sourced by the tests that run the whole local flow (scripts/flow).
#
# flow_test NAME SOURCE_DIR BUILD_DIR: sets src, build and tmp (a new folder under /tmp), and an
#   EXIT trap that stops the flow, keeps its emulator log for scripts/test's log scan (under
#   $VZ_TEST_LOG_DIR/NAME, with the flow's key among the secrets it must not find) and removes
#   tmp.  The caller exports its VZ_FLOW_* settings first.
# flow_up: starts the flow in $tmp/flow and exports what it prints (queue URLs, VZ_FLOW_URL,
#   HASURA_EVENT_API, ...); when it cannot start, prints why and exits 1.

flow_test() {
    flow_name=$1 src=$2 build=$3
    tmp=$(mktemp -d "/tmp/vz-$flow_name.XXXXXX")
    unset HASURA_EVENT_API
    trap flow_cleanup EXIT
}

flow_cleanup() {
    "$src/scripts/flow" stop "$tmp/flow" >/dev/null 2>&1
    if [ -n "${VZ_TEST_LOG_DIR:-}" ]; then # kept for the log scan of scripts/test
        mkdir -p "$VZ_TEST_LOG_DIR/$flow_name" && cp "$tmp/flow/emulator.log" "$VZ_TEST_LOG_DIR/$flow_name/" 2>/dev/null
        [ -n "${HASURA_EVENT_API:-}" ] && echo "$HASURA_EVENT_API" >>"$VZ_TEST_LOG_DIR/.secrets"
    fi
    rm -rf "$tmp"
}

flow_up() {
    if ! "$src/scripts/flow" start "$tmp/flow" "$build" >"$tmp/env" 2>"$tmp/start.log"; then
        echo "FAIL: the local flow did not start:" >&2
        cat "$tmp/start.log" >&2
        exit 1
    fi
    set -a
    # shellcheck disable=SC1091
    . "$tmp/env"
    set +a
}
