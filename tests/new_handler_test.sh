#!/usr/bin/env bash
# new_handler_test.sh -- adding handlers/hello/handler.c and rebuilding is all it takes.
# Copies the source tree, builds it, adds the folder, rebuilds (no cmake re-run by hand).
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
for f in CMakeLists.txt cmake deploy include src handlers; do cp -r "$src/$f" "$tmp/src/"; done
cmake -S "$tmp/src" -B "$tmp/build" -DVZ_TESTS=OFF -DVZ_BENCH=OFF >/dev/null
cmake --build "$tmp/build" --target vz-events -j2 >/dev/null
if "$tmp/build/vz-events" handlers | grep -qx hello; then echo "hello exists before it was added" >&2; exit 1; fi
mkdir "$tmp/src/handlers/hello"
cat >"$tmp/src/handlers/hello/handler.c" <<'C'
#include "vz/handler.h"
static vz_status hello_handle(const vz_context *ctx, const vz_sqs_record *r, const cJSON *body, vz_error *err)
{
    (void)ctx; (void)body;
    if (r->body_len == 0) { vz_error_set(err, "Function.Empty", "empty"); return VZ_EINVAL; }
    return VZ_OK;
}
VZ_HANDLER(hello) = {.name = "hello", .needs_json = false, .handle = hello_handle};
C
cmake --build "$tmp/build" --target vz-events -j2 >/dev/null
"$tmp/build/vz-events" handlers | grep -qx hello
printf '{}' >"$tmp/body.json"
"$tmp/build/vz-events" event --queue atd-vz-data-events-hello_pr_7 "$tmp/body.json" >"$tmp/ev.json"
out=$("$tmp/build/vz-events" invoke "$tmp/ev.json" 2>/dev/null)
test "$out" = '{"batchItemFailures":[]}'
echo "new handler discovered: 1 passed, 0 failed"
