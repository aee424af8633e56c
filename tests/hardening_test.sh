#!/usr/bin/env bash
# hardening_test.sh -- the built binary carries the hardening cmake/flags.cmake asks for.
# usage: hardening_test.sh VZ_EVENTS BUILD_DIR
#
# Inspects the ELF (readelf): position-independent executable, full RELRO
# (GNU_RELRO + BIND_NOW), stack protector (__stack_chk_fail referenced),
# FORTIFY_SOURCE (__*_chk functions referenced), a non-executable stack, no
# text relocations.  Then checks that every translation unit of the build
# (compile_commands.json) was compiled with the hardening flags, so that a
# target added later cannot miss them.  Meant for the release build: the
# sanitizer and Debug builds do not fortify.
set -u
bin=$1
build=$2
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

readelf -hlW "$bin" >"$tmp/headers" && readelf -dW "$bin" >"$tmp/dynamic" && readelf --dyn-syms -W "$bin" >"$tmp/syms"
check "readelf reads $bin" test $? -eq 0
check "PIE: ELF type DYN" grep -qE 'Type: +DYN' "$tmp/headers"
check "PIE: FLAGS_1 has PIE" grep -qE 'FLAGS_1.*\bPIE\b' "$tmp/dynamic"
check "RELRO: GNU_RELRO segment" grep -qE '^ +GNU_RELRO ' "$tmp/headers"
check "full RELRO: BIND_NOW" grep -qE '\(FLAGS\).*BIND_NOW|\(BIND_NOW\)|FLAGS_1.*\bNOW\b' "$tmp/dynamic"
check "stack protector: __stack_chk_fail" grep -qE ' __stack_chk_fail(@|$)' "$tmp/syms"
check "FORTIFY: __*_chk functions" grep -qE ' __[a-z]+_chk@' "$tmp/syms"
check "stack: GNU_STACK present" grep -qE '^ +GNU_STACK ' "$tmp/headers"
check "stack: not executable" bash -c "grep -E '^ +GNU_STACK ' '$tmp/headers' | grep -qvE ' RWE '"
check "no text relocations" bash -c "! grep -q TEXTREL '$tmp/dynamic'"

# Every compile command of the build has the flags, not just the ones that end up in this binary.
cc=$build/compile_commands.json
check "compile_commands.json exists" test -s "$cc"
grep -E '^ *"command":' "$cc" >"$tmp/commands"
total=$(grep -c . "$tmp/commands")
check "compile commands found" test "$total" -gt 0
for flag in -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -Wall -Wextra -Werror; do
    missing=$(grep -cv -- " $flag " "$tmp/commands")
    check "$flag on all $total compile commands ($missing without)" test "$missing" -eq 0
done

# FORTIFY_SOURCE does nothing without optimisation.
missing=$(grep -cvE -- ' -O[123s] ' "$tmp/commands")
check "optimised (-O1 or more, for FORTIFY) on all $total compile commands ($missing without)" test "$missing" -eq 0

echo "hardening: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
