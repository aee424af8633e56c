#!/usr/bin/env bash
# package_tls_test.sh -- the zip's libpq speaks TLS to the database, as production asks (PGSSLMODE=require).
#
# usage: package_tls_test.sh SOURCE_DIR BUILD_DIR
#
# Packages the build (scripts/package: the lean bootstrap and the libpq of
# scripts/lean-pq), unpacks the zip, starts a throwaway PostGIS with the sample
# city (scripts/db) and turns TLS on in it (scripts/db tls: ssl = on with a
# self-signed certificate made now; log_connections on).  Then, under `env -i`
# with Lambda's variables and Lambda's LD_LIBRARY_PATH (system folders first):
#   - with PGSSLMODE=require and a DATABASE_URL that leaves sslmode out (as the
#     stages set it), the zip's bootstrap runs a crash_update_location record and
#     the write lands (crash 5 gets SVRD-A-E1); the server logged that connection
#     as TLS; the libraries the loader initialised are the zip's and glibc, no
#     OpenSSL from outside (it is linked into lib/libpq.so.5); the same again
#     with no OpenSSL configuration file (the image has none where Debian's
#     libcrypto looks);
#   - with ssl turned off in the server, the same record with PGSSLMODE=require
#     fails alone: the process answers (no crash), the record is in
#     batchItemFailures, and the log line (valid JSON, like every line) says the
#     server does not support SSL.
# Fails (never skips) when the server cannot start.
set -u
SRC=$1
build=$2
tmp=$(mktemp -d /tmp/vz-package-tls.XXXXXX)
cleanup() {
    [ -n "$PG_STARTED" ] && "$SRC/scripts/db" stop "$tmp/pg" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
here=$(cd "$(dirname "$0")" && pwd)
. "$here/check.sh"
# shellcheck source=runtime/servers_lib.sh
. "$here/runtime/servers_lib.sh"
# shellcheck source=package_lib.sh
. "$(dirname "$0")/package_lib.sh"
allowed=$(image_libraries "$SRC")
package_unpacked "$SRC" "$build" "$tmp"

start_pg
if ! "$SRC/scripts/db" tls "$tmp/pg" >"$tmp/tls.env" 2>"$tmp/tls.err"; then
    echo "FAIL: scripts/db tls" >&2
    cat "$tmp/tls.err" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "$tmp/tls.env" # DATABASE_URL without sslmode, PGSSLMODE=require
tls_url=$DATABASE_URL
export PGSSLMODE=require # for psql here, too
q "ALTER SYSTEM SET log_connections = on" >/dev/null && q "SELECT pg_reload_conf()" >/dev/null
check "the server has TLS on" test "$(q 'SHOW ssl')" = on
check "psql here connects with TLS" test "$(q 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')" = t
check "crash 5 starts without a location" test "$(location 5)" = NULL

lambda_env=(
    LAMBDA_TASK_ROOT="$task" LAMBDA_RUNTIME_DIR=/var/runtime
    AWS_LAMBDA_FUNCTION_NAME=atd-vz-data-events-crash_update_location_pr_1 AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO TZ=:UTC LANG=en_US.UTF-8
    PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin
    LD_LIBRARY_PATH="/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:$task:$task/lib:/opt/lib"
    DATABASE_URL="$tls_url" PGSSLMODE=require PGCONNECT_TIMEOUT=10
)
printf '{"event":{"op":"UPDATE","data":{"old":{"crash_id":5},"new":{"crash_id":5}}},"id":"tls-5","table":{"schema":"public","name":"atd_txdot_crashes"}}\n' >"$tmp/body.json"
"$task/bootstrap" event --queue atd-vz-data-events-crash_update_location_pr_1 "$tmp/body.json" >"$tmp/event.json"
id=$(jq -r '.Records[0].messageId' "$tmp/event.json")

# --- TLS on: the write lands ----------------------------------------------------------
log_before=$(wc -l <"$tmp/pg/log")
env -i "${lambda_env[@]}" LD_DEBUG=libs "$task/bootstrap" invoke "$tmp/event.json" >"$tmp/on.out" 2>"$tmp/on.err"
rc=$?
grep -E '^ +[0-9]+:' "$tmp/on.err" >"$tmp/on.ld"
grep -vE '^ +[0-9]+:' "$tmp/on.err" >"$tmp/on.log"
check "TLS on: bootstrap invoke exits 0 (rc $rc)" test $rc -eq 0
check "TLS on: no record fails" grep -qx '{"batchItemFailures":\[\]}' "$tmp/on.out"
check "TLS on: the write landed (crash 5 → SVRD-A-E1)" test "$(location 5)" = SVRD-A-E1
tail -n +"$((log_before + 1))" "$tmp/pg/log" >"$tmp/pg-on.log"
check "TLS on: the server logged the handler's connection as TLS" \
    grep -qE 'connection authorized: .*database=vz.* SSL enabled \(protocol=TLS' "$tmp/pg-on.log"
check "TLS on: libpq loaded from the zip" grep -q "calling init: $task/lib/libpq.so.5" "$tmp/on.ld"
loaded_objects "$tmp/on.ld" >"$tmp/on.loaded"
check "TLS on: nothing from outside the zip but the allow-list" only_zip_or_image "$tmp/on.loaded"
check "TLS on: no OpenSSL, Kerberos or LDAP loaded (OpenSSL is linked into the zip's libpq)" \
    bash -c '! grep -E "/lib(ssl|crypto|gssapi|krb5|ldap|lber|sasl2|gnutls)" "$1"' _ "$tmp/on.loaded"
echo "objects initialised by the loader (TLS on):"
sed 's/^/  /' "$tmp/on.loaded"

# The image has no /usr/lib/ssl/openssl.cnf (where Debian's libcrypto.a, linked into libpq,
# looks for its configuration): without one, TLS works on OpenSSL's built-in defaults.
q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id = 5" >/dev/null
env -i "${lambda_env[@]}" OPENSSL_CONF="$tmp/no-such-openssl.cnf" "$task/bootstrap" invoke "$tmp/event.json" >"$tmp/noconf.out" 2>"$tmp/noconf.log"
rc=$?
check "TLS on, no OpenSSL configuration file: exits 0 (rc $rc), no record fails" \
    bash -c '[ "$1" -eq 0 ] && grep -qx "{\"batchItemFailures\":\[\]}" "$2"' _ "$rc" "$tmp/noconf.out"
check "TLS on, no OpenSSL configuration file: the write landed" test "$(location 5)" = SVRD-A-E1

# --- TLS off in the server, sslmode=require: the record fails alone, clearly -------------
q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id = 5" >/dev/null
q "ALTER SYSTEM SET ssl = off" >/dev/null && q "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 100); do [ "$(PGSSLMODE=disable q 'SHOW ssl')" = off ] && break; sleep 0.05; done
check "the server has TLS off" test "$(PGSSLMODE=disable q 'SHOW ssl')" = off
env -i "${lambda_env[@]}" "$task/bootstrap" invoke "$tmp/event.json" >"$tmp/off.out" 2>"$tmp/off.log"
rc=$?
check "TLS off: bootstrap invoke exits 0, no crash (rc $rc)" test $rc -eq 0
check "TLS off: the record fails alone" grep -qx "{\"batchItemFailures\":\[{\"itemIdentifier\":\"$id\"}\]}" "$tmp/off.out"
check "TLS off: nothing written (crash 5 still without a location)" test "$(PGSSLMODE=disable location 5)" = NULL
check "TLS off: every log line is JSON" bash -c '[ -s "$1" ] && jq -e . "$1" >/dev/null' _ "$tmp/off.log"
check "TLS off: the error says the server does not support SSL" \
    bash -c 'jq -r "select(.level == \"ERROR\") | .message" "$1" | grep -q "server does not support SSL, but SSL was required"' _ "$tmp/off.log"

if [ "$fails" -ne 0 ]; then
    echo "--- log, TLS on" >&2 && cat "$tmp/on.log" >&2
    echo "--- log, TLS off" >&2 && cat "$tmp/off.log" >&2
fi
echo "package tls: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
