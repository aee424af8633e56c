#!/usr/bin/env bash
# package_test.sh -- the Lambda zip is well formed and self-contained.
#
# usage: package_test.sh SOURCE_DIR BUILD_DIR FIXTURES_DIR VZ_EMULATOR
#
# Builds the lean bootstrap (cmake --build BUILD_DIR --target bootstrap, through
# scripts/package), then checks the zip as Lambda gets it:
#   - zip -T, only bootstrap + lib/ (+ certs/), run bits, soname symlinks kept;
#   - bootstrap is the ELF binary itself (no shell), needs nothing but glibc, finds lib/
#     through DT_RPATH $ORIGIN/lib; libcurl and cJSON are linked in, libpq and the
#     HTTPS libcurl are in lib/ for later;
#   - size under the 5.8 MB of aws-lambda-cpp's hello-world zip;
#   - unpacked into an empty folder, scripts/check-abi (readelf) and, independently,
#     objdump: nothing asks glibc for a version newer than 2.34 (the image's), and
#     every library is either in the zip or on deploy/al2023-provided.txt;
#   - run with `env -i` and Lambda's variables -- including Lambda's LD_LIBRARY_PATH,
#     which puts the system folders before $LAMBDA_TASK_ROOT/lib -- under
#     LD_DEBUG=libs: every object the loader initialises comes from the zip or is
#     on the allow-list, and the bundled ones are really the ones used; a batch
#     with no database work loads no library at all (libpq, OpenSSL: none); a
#     batch for a database handler loads libpq and what it needs from the zip,
#     and without lib/libpq.so.5 that record fails naming the library and the path;
#   - lib/libpq.so.5 is scripts/lean-pq's: SONAME libpq.so.5, glibc its only NEEDED,
#     libpq's API exported and no OpenSSL symbol; neither the zip nor its manifest
#     names Kerberos, GSSAPI, LDAP, SASL or GnuTLS;
#   - the same unpacked bootstrap started by vz-emulator (the local stand-in for
#     Lambda, same clean environment) answers a real invocation on the invoke
#     endpoint, and while it waits for the next one its /proc/PID/maps and the
#     loader's LD_DEBUG=libs log show nothing loaded from outside the zip but the
#     allow-list.
set -u
src=$1
build=$2
fx=$3
emulator=${4:?usage: package_test.sh SOURCE_DIR BUILD_DIR FIXTURES_DIR VZ_EMULATOR}
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
# shellcheck source=package_lib.sh
. "$(dirname "$0")/package_lib.sh"
allow="$src/deploy/al2023-provided.txt"
allowed=$(image_libraries "$src")

# --- the package ---------------------------------------------------------------
zip="$tmp/dist/vz-events.zip"
if ! "$src/scripts/package" --build-dir "$build" --no-build --out "$zip" >"$tmp/package.out" 2>&1; then
    cat "$tmp/package.out" >&2
    echo "FAIL: scripts/package" >&2
    exit 1
fi
# The zip is what deploy_moto deploys (its fixture): kept in the build folder.
mkdir -p "$build/package-test"
cp "$zip" "$build/package-test/vz-events.zip"
cat "$tmp/package.out"
check "package prints the size" grep -qE "^package: .*vz-events.zip +[0-9]+ bytes" "$tmp/package.out"
size=$(stat -c %s "$zip")
check "zip under 5.8 MB ($size bytes)" test "$size" -lt 5800000
check "zip -T" zip -T "$zip"
unzip -Z "$zip" >"$tmp/listing"
names=$(unzip -Z1 "$zip")
check "bootstrap at the root" grep -qx bootstrap <<<"$names"
check "nothing but bootstrap, lib/, certs/*.pem" \
    bash -c '! grep -vE "^(bootstrap|lib/[^/]+\.so[.0-9]*|lib/[^/]+-[0-9.]+\.so[.0-9]*|certs/[^/]+\.pem)$" <<<"$1"' _ "$names"
check "no iconv modules, docs or archives" bash -c '! grep -qiE "gconv|/share/|/doc|\.a$|\.h$" <<<"$1"' _ "$names"
check "bootstrap is executable" grep -qE '^-rwxr-xr-x .* bootstrap$' "$tmp/listing"
check "libpq bundled (loaded on first database use)" grep -q '^lib/libpq\.so\.5$' <<<"$names"
check "the HTTPS libcurl bundled (loaded by the SQS client)" grep -qx 'lib/libvz-curl-https\.so' <<<"$names"
check "no libcurl, libcjson or OpenSSL in lib/ (linked in, or the image's)" \
    bash -c '! grep -qE "^lib/lib(curl|cjson|ssl|crypto)\.so" <<<"$1"' _ "$names"
check "soname links stored as symlinks" grep -qE '^l.* lib/libpq\.so\.5$' "$tmp/listing"
# The zip's libpq is scripts/lean-pq's: OpenSSL linked in, no GSSAPI/Kerberos, LDAP, GnuTLS.
manifest="$tmp/dist/vz-events.zip.manifest"
check "the manifest is written beside the zip" test -s "$manifest"
check "the manifest names the postgresql-15 source libpq was built from" \
    grep -qE '^ +built from Debian.s postgresql-15 15\.[0-9]+-' "$manifest"
check "no Kerberos, GSSAPI, LDAP, SASL or GnuTLS in the zip" \
    bash -c '! grep -qiE "^lib/lib(krb5|k5crypto|gssapi|ldap|lber|sasl2|gnutls|nettle|hogweed|p11-kit|tasn1|idn2|unistring)" <<<"$1"' _ "$names"
check "the manifest names no Kerberos, GSSAPI, LDAP, SASL or GnuTLS, in the zip or the image's" \
    bash -c '! grep -qiE "lib(krb5|k5crypto|gssapi|ldap|lber|sasl2|gnutls|com_err|keyutils)" "$1"' _ "$manifest"

check "no glibc in the zip (the image's glibc is used)" bash -c '! grep -qE "^lib/(libc\.so|libm\.so|ld-linux)" <<<"$1"' _ "$names"
check "same inputs, same bytes" bash -c '"$1/scripts/package" --build-dir "$2" --no-build --out "$3/again.zip" >/dev/null 2>&1 && cmp -s "$3/again.zip" "$4"' _ "$src" "$build" "$tmp" "$zip"

# --- unpacked, static checks ---------------------------------------------------------
task="$tmp/task"
mkdir "$task"
(cd "$task" && unzip -q "$zip")
check "symlinks survive unzip" test -L "$task/lib/libpq.so.5"
check "lib/libpq.so.5 keeps its SONAME" bash -c 'readelf -d "$1" | grep -qF "Library soname: [libpq.so.5]"' _ "$task/lib/libpq.so.5"
check "lib/libpq.so.5 needs glibc alone (OpenSSL linked in, its symbols hidden)" \
    bash -c 'test "$(readelf -d "$1" | sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p" | grep -v "^libc\.so\.6$" | wc -l)" -eq 0' _ "$task/lib/libpq.so.5"
check "lib/libpq.so.5 exports libpq's API and no OpenSSL symbol" \
    bash -c 'objdump -T "$1" | grep -q " PQconnectStartParams$" && objdump -T "$1" | grep -q " PQsslInUse$" && ! objdump -T "$1" | grep -v "\*UND\*" | grep -qE " (SSL|EVP|OPENSSL|CRYPTO)_"' _ "$task/lib/libpq.so.5"
check "bootstrap is an ELF executable, not a script" bash -c 'head -c 4 "$1" | grep -q ELF' _ "$task/bootstrap"
readelf -d "$task/bootstrap" >"$tmp/dynamic"
check "bootstrap needs glibc alone (libcurl and cJSON linked in, libpq loaded later)" \
    bash -c 'test "$(sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p" "$1" | grep -v "^lib\(c\|m\|dl\|pthread\)\.so" | wc -l)" -eq 0' _ "$tmp/dynamic"
check "bootstrap's DT_RPATH is \$ORIGIN/lib (searched before LD_LIBRARY_PATH)" grep -qE '\(RPATH\).*\[\$ORIGIN/lib\]' "$tmp/dynamic"
check "no DT_RUNPATH (it would come after LD_LIBRARY_PATH)" bash -c '! grep -q "(RUNPATH)" "$1"' _ "$tmp/dynamic"
check "check-abi (readelf) on the unpacked zip" "$src/scripts/check-abi" "$task" "$allow"
sed 's/GLIBC_2\.34$/GLIBC_2.33/' "$allow" >"$tmp/allow-2.33"
check "check-abi fails against an image with glibc 2.33 (negative control)" \
    bash -c '! "$1/scripts/check-abi" "$2" "$3" 2>/dev/null >&2' _ "$src" "$task" "$tmp/allow-2.33"
# Independently of check-abi: objdump's undefined dynamic symbols, their versions.
newest=$(for f in "$task/bootstrap" "$task"/lib/*; do
             [ -L "$f" ] || objdump -T "$f"
         done | awk '/\*UND\*/' | grep -oE 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
echo "newest GLIBC_ version asked for by anything in the zip (objdump): $newest"
check "nothing needs glibc newer than 2.34 (objdump says $newest)" \
    test "$(printf '%s\n2.34\n' "$newest" | sort -V | tail -1)" = "2.34"
check "nothing asks for GLIBC_PRIVATE" bash -c '! for f in "$1"/bootstrap "$1"/lib/*; do objdump -T "$f"; done 2>/dev/null | grep -q GLIBC_PRIVATE' _ "$task"

# --- unpacked, run with a clean environment -----------------------------------------
# Lambda's LD_LIBRARY_PATH with this machine's system folders standing in for
# /lib64 and /usr/lib64 first, as on Lambda: the launcher must still win.
lambda_env=(
    LAMBDA_TASK_ROOT="$task" LAMBDA_RUNTIME_DIR=/var/runtime
    AWS_LAMBDA_FUNCTION_NAME=atd-vz-data-events-example_pr_1 AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO _HANDLER=example TZ=:UTC LANG=en_US.UTF-8
    PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin
    LD_LIBRARY_PATH="/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:$task:$task/lib:/opt/lib"
)
loaded_outside() { # loaded_outside LD_DEBUG_LOG [TASK]: objects the loader initialised (in LOG.loaded), all from TASK or allowed
    loaded_objects "$1" >"$1.loaded"
    only_zip_or_image "$1.loaded" "${2:-$task}"
}
from_zip_when_bundled() { # from_zip_when_bundled LOADED_LIST: a library the zip has is never loaded from elsewhere
    local p bad=0
    while read -r p; do
        if [ -e "$task/lib/$(basename "$p")" ] && [ "${p#"$task"/}" = "$p" ]; then
            echo "  $(basename "$p") is in the zip but was loaded from $p" >&2
            bad=1
        fi
    done <"$1"
    return $bad
}
env -i "${lambda_env[@]}" LD_DEBUG=libs "$task/bootstrap" invoke "$fx/sqs-batch.json" >"$tmp/invoke.out" 2>"$tmp/invoke.err"
rc=$?
grep -E '^ +[0-9]+:' "$tmp/invoke.err" >"$tmp/ld.log"
check "bootstrap invoke exits 0 (rc $rc)" test $rc -eq 0
# _HANDLER=example routes record 7 (a queue no handler matches) to example: only 3 fails.
check "bootstrap invoke answers the partial batch response" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"}\]}' "$tmp/invoke.out"
check "the loader started the zip's binary itself" grep -q "initialize program: $task/bootstrap" "$tmp/ld.log"
check "no library from outside the zip but the allow-list (LD_DEBUG=libs)" loaded_outside "$tmp/ld.log"
check "no database work: glibc alone is loaded (no libpq, no OpenSSL)" \
    bash -c '! grep -vE "/(libc|libm|libdl|libpthread|ld-linux-x86-64)\.so\.[0-9]+$" "$1"' _ "$tmp/ld.log.loaded"
echo "objects initialised by the loader (no database work):"
sed 's/^/  /' "$tmp/ld.log.loaded"

# A batch with a database record (the database is unreachable: port 1) and an example record.
db_env=(DATABASE_URL="postgresql://vz@127.0.0.1:1/vz?connect_timeout=2" PGCONNECT_TIMEOUT=2)
"$task/bootstrap" event --queue atd-vz-data-events-crash_update_location_pr_1 "$fx/hasura/crash-update.json" >"$tmp/db.json"
"$task/bootstrap" event --queue atd-vz-data-events-example_pr_1 "$fx/hasura/crash-update.json" >"$tmp/ex.json"
jq -c -s '{Records: [.[0].Records[0], (.[1].Records[0] | .messageId = "db-record")]}' "$tmp/ex.json" "$tmp/db.json" >"$tmp/mixed.json"
run_mixed() { # run_mixed TASK OUT: the mixed batch through TASK/bootstrap, LD_DEBUG to OUT.ld
    env -i "${lambda_env[@]//$task/$1}" "${db_env[@]}" LD_DEBUG=libs "$1/bootstrap" invoke "$tmp/mixed.json" >"$2" 2>"$2.err"
    grep -E '^ +[0-9]+:' "$2.err" >"$2.ld"
}
run_mixed "$task" "$tmp/mixed.out"
check "database record fails alone (unreachable database)" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"db-record"}\]}' "$tmp/mixed.out"
check "libpq loaded from the zip on first database use" grep -q "calling init: $task/lib/libpq.so.5" "$tmp/mixed.out.ld"
check "database path: no library from outside the zip but the allow-list" loaded_outside "$tmp/mixed.out.ld"
check "database path: bundled libraries shadow the system's (Lambda's LD_LIBRARY_PATH lists them first)" \
    from_zip_when_bundled "$tmp/mixed.out.ld.loaded"
echo "objects initialised by the loader (database path):"
sed 's/^/  /' "$tmp/mixed.out.ld.loaded"
# The same check must catch a library taken from the system: in a copy, the system's libpq
# (Debian's libpq5, which needs libldap, libgssapi_krb5, ...) in place of the zip's.
cp -a "$task" "$tmp/broken"
cp "$(readlink -f "$(pkg-config --variable=libdir libpq)/libpq.so.5")" "$tmp/broken/lib/$(readlink "$task/lib/libpq.so.5")"
run_mixed "$tmp/broken" "$tmp/broken.out"
caught() { ! loaded_outside "$@" 2>/dev/null; }
check "a library missing from the zip is caught (negative control)" caught "$tmp/broken.out.ld" "$tmp/broken"
# Without lib/libpq.so.5: the database record fails, naming the library and the path tried.
cp -a "$task" "$tmp/nopq"
rm "$tmp/nopq"/lib/libpq.so*
run_mixed "$tmp/nopq" "$tmp/nopq.out"
check "without libpq: the database record fails alone" grep -qx '{"batchItemFailures":\[{"itemIdentifier":"db-record"}\]}' "$tmp/nopq.out"
check "without libpq: the error names the library and the path tried" \
    grep -qF "cannot load the PostgreSQL client library libpq.so.5 (tried $tmp/nopq/lib/libpq.so.5)" "$tmp/nopq.out.err"

# --- under vz-emulator: a real invocation of the unpacked bootstrap ------------------------
check "vz-emulator is built" test -x "$emulator"
emu_pid=
stop_emulator() { [ -z "$emu_pid" ] || { kill -TERM "$emu_pid" 2>/dev/null; wait "$emu_pid" 2>/dev/null; emu_pid=; }; }
trap 'stop_emulator; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
if [ -x "$emulator" ]; then
    env -i "${lambda_env[@]}" "$emulator" --port 0 --port-file "$tmp/ports" --timeout 30 -- \
        env LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/emu-ld" "$task/bootstrap" >"$tmp/emu.log" 2>&1 &
    emu_pid=$!
    for _ in $(seq 600); do [ -s "$tmp/ports" ] && break; kill -0 "$emu_pid" 2>/dev/null || break; sleep 0.05; done
    check "vz-emulator started the unpacked bootstrap" test -s "$tmp/ports"
    if [ -s "$tmp/ports" ]; then
        read -r port _ <"$tmp/ports"
        code=$(curl -s --noproxy '*' --max-time 60 -o "$tmp/emu.out" -w '%{http_code}' \
                   --data-binary @"$fx/sqs-batch.json" "http://127.0.0.1:$port/2015-03-31/functions/function/invocations")
        check "invocation through the emulator: HTTP 200 (got $code)" test "$code" = 200
        check "invocation through the emulator: the partial batch response" \
            grep -qx '{"batchItemFailures":\[{"itemIdentifier":"00000003-0000-4000-8000-000000000003"}\]}' "$tmp/emu.out"
        # The runtime now waits on /next: what does it have mapped?
        rt=$(pgrep -P "$emu_pid" | head -1)
        check "the runtime process is running" test -n "$rt"
        if [ -n "$rt" ]; then
            check "the runtime is the zip's binary" test "$(readlink "/proc/$rt/exe")" = "$task/bootstrap"
            mapped_objects "$rt" >"$tmp/maps"
            check "/proc/PID/maps: nothing from outside the zip but the allow-list" only_zip_or_image "$tmp/maps"
            check "/proc/PID/maps: nothing but glibc mapped while waiting (libcurl linked in)" \
                bash -c '! grep -vE "/(libc|ld-linux-x86-64)\.so" "$1"' _ "$tmp/maps"
            echo "mapped by the runtime under the emulator:"
            sed 's/^/  /' "$tmp/maps"
        fi
    else
        cat "$tmp/emu.log" >&2
    fi
    stop_emulator
    ld_file=$(grep -l "initialize program: $task/bootstrap" "$tmp"/emu-ld.* 2>/dev/null | head -1)
    check "LD_DEBUG log of the runtime under the emulator" test -n "$ld_file"
    if [ -n "$ld_file" ]; then
        check "under the emulator: no library from outside the zip but the allow-list (LD_DEBUG=libs)" \
            loaded_outside "$ld_file"
    fi
fi

echo "package: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
