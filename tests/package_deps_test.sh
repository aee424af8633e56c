#!/usr/bin/env bash
# package_deps_test.sh -- a library declared in handlers/<name>/handler.deps lands in the zip.
#
# usage: package_deps_test.sh SOURCE_DIR [BUILD_DIR]
#   BUILD_DIR: a build whose lean cache (BUILD_DIR/lean: Debian sources, libcurl) the copy reuses.
# Copies the tree, checks that libyaml is not in its zip, adds handlers/yamlcheck
# declaring `yaml-0.1 libyaml-dev`, rebuilds and repackages with scripts/package:
# libyaml is now in lib/, the unpacked bootstrap loads it from there (LD_DEBUG),
# and a record for the new handler's queue succeeds.
set -u
src=$1
lean_cache=()
[ -n "${2:-}" ] && lean_cache=(-DVZ_LEAN_CACHE="$(cd "$2" && pwd)/lean")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
tree="$tmp/tree"
mkdir "$tree"
for f in CMakeLists.txt cmake include src handlers scripts deploy; do cp -r "$src/$f" "$tree/"; done
rm -rf "$tree/handlers/yamlcheck"
build() {
    cmake -S "$tree" -B "$tree/build" -DVZ_TESTS=OFF -DVZ_WERROR=ON "${lean_cache[@]}" >"$tmp/cmake.log" 2>&1 &&
        cmake --build "$tree/build" --target vz-events -j2 >>"$tmp/cmake.log" 2>&1 ||
        { cat "$tmp/cmake.log" >&2; return 1; }
}
package() { "$tree/scripts/package" --build-dir "$tree/build" --no-build --out "$tmp/$1.zip"; }

build || { echo "FAIL: build of the copy" >&2; exit 1; }
package before >/dev/null || { echo "FAIL: package before" >&2; exit 1; }
check "libyaml is not in the zip before a handler declares it" bash -c '! unzip -Z1 "$1" | grep -q libyaml' _ "$tmp/before.zip"

mkdir "$tree/handlers/yamlcheck"
cat >"$tree/handlers/yamlcheck/handler.deps" <<'DEPS'
# pkg-config module   Debian package
yaml-0.1              libyaml-dev
DEPS
cat >"$tree/handlers/yamlcheck/handler.c" <<'C'
/* yamlcheck -- a test handler that needs a library of its own (libyaml). */
#include "vz/handler.h"

#include <string.h>
#include <yaml.h>

static vz_status yamlcheck_handle(const vz_context *ctx, const vz_sqs_record *record, const cJSON *body,
                                  vz_error *err)
{
    (void)ctx;
    (void)record;
    (void)body;
    if (strncmp(yaml_get_version_string(), "0.", 2) != 0) {
        vz_error_set(err, "Function.Yaml", "unexpected libyaml version");
        return VZ_EINVAL;
    }
    return VZ_OK;
}

VZ_HANDLER(yamlcheck) = {.name = "yamlcheck", .needs_json = false, .handle = yamlcheck_handle};
C
build || { echo "FAIL: build with handlers/yamlcheck" >&2; exit 1; }
package after >"$tmp/after.out" 2>&1 || { cat "$tmp/after.out" >&2; echo "FAIL: package after" >&2; exit 1; }
cat "$tmp/after.out"
check "libyaml is in the zip once handlers/yamlcheck declares it" bash -c 'unzip -Z1 "$1" | grep -qx "lib/libyaml-0.so.2"' _ "$tmp/after.zip"
check "the manifest says it was bundled" grep -q '^zip *libyaml-0.so.2 ' "$tmp/after.zip.manifest"

task="$tmp/task"
mkdir "$task"
(cd "$task" && unzip -q "$tmp/after.zip")
check "the unpacked binary lists yamlcheck" bash -c 'env -i LAMBDA_TASK_ROOT="$1" "$1/bootstrap" handlers | grep -qx yamlcheck' _ "$task"
printf '{"id":"x"}' >"$tmp/body.json"
"$task/bootstrap" event --queue atd-vz-data-events-yamlcheck_pr_1 "$tmp/body.json" >"$tmp/event.json"
env -i LAMBDA_TASK_ROOT="$task" LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu LD_DEBUG=libs \
    "$task/bootstrap" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
check "a record for yamlcheck succeeds" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out"
check "libyaml is loaded from the zip" grep -q "calling init: $task/lib/libyaml-0.so.2" "$tmp/err"
check "and not from the system" bash -c '! grep -E "calling init: /(usr/)?lib.*libyaml" "$1"' _ "$tmp/err"

echo "package deps: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
