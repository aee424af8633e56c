#!/usr/bin/env bash
# security_db_test.sh -- SQL injection through every payload field changes nothing in a real
# PostGIS database, and keys beyond 32 bits or negative are refused cleanly.
# usage: security_db_test.sh VZ_EVENTS      (needs DATABASE_URL: the server scripts/test starts)
#
# The sample city is loaded and brought to its fixed point by running every handler once on the
# keys used below.  Then a checksum of every table (and of the list of tables) is taken, events
# carrying injection strings are run through `vz-events invoke` -- in the key fields (crash_id,
# case_id), the op, the table name, the event id, other row fields, and as the whole body -- and
# the checksum is taken again: it must not change.  Records whose key is an injection string, a
# number beyond 2147483647, negative, fractional or padded fail alone, naming the field; records
# with a valid key and injected other fields are processed normally (and change nothing: fixed
# point).  The log must hold no injection string (only sizes of bodies are logged).
set -u
VZ=$1
[ -n "${DATABASE_URL:-}" ] || { echo "FAIL: DATABASE_URL is not set (scripts/test starts the server)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/vz-secdb.XXXXXX)
cleanup() {
    if [ -n "${VZ_TEST_LOG_DIR:-}" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/security_db"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/security_db/" 2>/dev/null
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/check.sh"
q() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
checksum() {
    q "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
         SELECT 'tables:' || string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) AS x FROM pg_tables
          WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
         UNION ALL SELECT 'c:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM atd_txdot_crashes t
         UNION ALL SELECT 'b:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM atd_apd_blueform t
         UNION ALL SELECT 'l:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM atd_txdot_locations t
         UNION ALL SELECT 'm:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM cr3_mainlanes t
         UNION ALL SELECT 'n:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM non_cr3_mainlanes t
         UNION ALL SELECT 'j:' || md5(string_agg(t::text, '|' ORDER BY t::text)) FROM atd_jurisdictions t) s"
}
# run NAME HANDLER BODY...: one SQS event, a record per body, through vz-events invoke
run() {
    local n=$1 h=$2 i=0
    shift 2
    local files=()
    for b in "$@"; do
        i=$((i + 1))
        printf '%s' "$b" >"$tmp/$n.b$i"
        files+=("$tmp/$n.b$i")
    done
    "$VZ" event --queue "atd-vz-data-events-${h}_test" "${files[@]}" >"$tmp/$n.json" || return 1
    ${VZ_VALGRIND:-} "$VZ" invoke "$tmp/$n.json" >"$tmp/$n.out" 2>>"$tmp/invoke.log"
    local rc=$?
    check "invoke $n exits 0 (the invocation completed; under valgrind: no error)" test "$rc" -eq 0
}
nfailed() { jq '.batchItemFailures | length' "$tmp/$1.out"; }

# The sample city, then the fixed point of the keys used.
psql "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -f "$root/db/sample.sql" >/dev/null 2>"$tmp/load.err" ||
    { echo "FAIL: cannot load the sample city" >&2; cat "$tmp/load.err" >&2; exit 1; }
good_c='{"event":{"op":"UPDATE","data":{"new":{"crash_id":1}}}}'
good_b='{"event":{"op":"UPDATE","data":{"new":{"case_id":101}}}}'
run fix1 crash_update_location "$good_c"
run fix2 crash_update_jurisdiction "$good_c"
run fix3 crash_update_noncr3_location "$good_b"
before=$(checksum)
check "checksum taken" test -n "$before"

inj=(
    "1; DROP TABLE atd_txdot_crashes; --"
    "1' OR '1'='1"
    "1 OR 1=1"
    "1)); DELETE FROM atd_txdot_crashes; --"
    "'; UPDATE atd_txdot_crashes SET location_id = 'PWNED'; --"
    "1; SELECT pg_sleep(10)"
    "\$\$; DROP TABLE atd_jurisdictions; \$\$"
    "1\\u0000; DROP TABLE atd_txdot_crashes"
)
bad_keys=(4294967296 -1 2147483648 '"-1"' '"99999999999"' '"2147483648"' 1.5 '"0x10"' '" 1"' '"1 "' 1e300 '"+1"' null true '[1]' '{"crash_id":1}')
for h in crash_update_location crash_update_jurisdiction crash_update_noncr3_location; do
    field=crash_id
    [ $h = crash_update_noncr3_location ] && field=case_id
    bodies=()
    for s in "${inj[@]}"; do
        bodies+=("$(jq -cn --arg f "$field" --arg v "$s" '{event: {op: "UPDATE", data: {new: {($f): $v}}}}')")
    done
    for k in "${bad_keys[@]}"; do
        bodies+=("{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"$field\":$k}}}}")
    done
    for s in "${inj[@]:0:4}"; do
        # a valid key, the injection everywhere else: op, table, schema, id, other row fields, old row
        key=1
        [ $field = case_id ] && key=101
        bodies+=("$(jq -cn --arg f "$field" --arg v "$s" --argjson k $key '{event: {op: $v, data: {old: {($f): $v, location_id: $v}, new: {($f): $k, location_id: $v, latitude_primary: $v, longitude_primary: $v, austin_full_purpose: $v}}, session_variables: {"x-hasura-role": $v}}, id: $v, table: {schema: $v, name: $v}, trigger: {name: $v}}')")
    done
    bodies+=("'; DROP TABLE atd_txdot_crashes; --" "\"1; DROP TABLE atd_txdot_crashes\"")
    nb=${#bodies[@]}
    nbad=$((${#inj[@]} + ${#bad_keys[@]}))
    # SQS batches are at most 10 records: run them in tens
    failed=0
    for ((o = 0; o < nb; o += 10)); do
        run "$h.$o" "$h" "${bodies[@]:o:10}"
        failed=$((failed + $(nfailed "$h.$o")))
    done
    check "$h: every bad key and non-JSON body failed, the valid keys succeeded ($failed of $nb failed)" \
        test "$failed" -eq $((nbad + 2))
done
after=$(checksum)
check "the database is exactly as before (checksum of every table and of the table list)" test "$after" = "$before"
check "no row took an injected value" test "$(q "SELECT count(*) FROM atd_txdot_crashes WHERE location_id = 'PWNED' OR location_id LIKE '%DROP%'")" = 0
check "beyond 32 bits: refused naming the field" grep -q 'event.data.new.crash_id (4294967296) is beyond a 32-bit integer' "$tmp/invoke.log"
check "negative: refused naming the field" grep -q 'event.data.new.crash_id is negative (-1)' "$tmp/invoke.log"
check "a digit string beyond 32 bits: refused" grep -q 'event.data.new.case_id ("2147483648") is beyond a 32-bit integer' "$tmp/invoke.log"
check "an injection string as key: refused without echoing it" grep -q 'event.data.new.crash_id is a string that is not 1 to 10 decimal digits' "$tmp/invoke.log"
check "no injection string in the log" bash -c "! grep -qE 'DROP TABLE|PWNED|OR 1=1|pg_sleep' '$tmp/invoke.log'"
check "no whole payload in the log" bash -c "! grep -q '\"event\":{' '$tmp/invoke.log'"
echo "security_db: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
