#!/usr/bin/env bash
# role_test.sh -- the three handlers under the least-privilege role of db/role.sql.
# usage: role_test.sh VZ_EVENTS      (needs DATABASE_URL: a superuser on the server scripts/test starts)
#
# In a database of its own on that server (schema, sample city, the role applied with a name
# of its own, a login member of it), it runs every handler through `vz-events invoke` as the
# member and checks both sides:
#   * with the grants of db/role.sql every record succeeds, the answers are the sample's and
#     the audit trigger logged each write under the member's name;
#   * with any one of the grants the handlers' writes need revoked, the record that writes
#     fails, and nothing is written: neither the row nor the change log.
# The database and both roles are dropped at the end.
set -u
VZ=$1
[ -n "${DATABASE_URL:-}" ] || { echo "FAIL: DATABASE_URL is not set (scripts/test starts the server)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
. "$(dirname "$0")/check.sh"
tmp=$(mktemp -d /tmp/vz-role.XXXXXX)
tag=$(basename "$tmp" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
db=vz_role_$tag
group=vz_role_${tag}_handler
member=vz_role_${tag}_lambda
admin_url=$(printf '%s' "$DATABASE_URL" | sed -E "s#^(postgresql://[^/]*)/[^?]*#\1/$db#")
member_url=$(printf '%s' "$admin_url" | sed -E "s#^postgresql://[^@]*@#postgresql://$member@#")
cleanup() {
    psql "$DATABASE_URL" -Xq -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    psql "$DATABASE_URL" -Xq -c "DROP ROLE IF EXISTS $member" -c "DROP ROLE IF EXISTS $group" >/dev/null 2>&1
    if [ -n "${VZ_TEST_LOG_DIR:-}" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/role"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/role/" 2>/dev/null
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
q() { psql "$admin_url" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

psql "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null || exit 1
psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION postgis" \
    -f "$root/db/schema.sql" >/dev/null 2>"$tmp/load.log" || { cat "$tmp/load.log" >&2; exit 1; }
psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql" >/dev/null 2>>"$tmp/load.log" ||
    { cat "$tmp/load.log" >&2; exit 1; }
q "CREATE ROLE $member LOGIN IN ROLE $group" >/dev/null
check "the group role is not a login role" test "$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = '$group'")" = f
check "role.sql runs twice" psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql"

reset() { psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -f "$root/db/sample.sql" >/dev/null 2>>"$tmp/load.log"; }
# run NAME HANDLER FIELD KEY...: one SQS event of one record per key, as the member; prints the failures
run() {
    local n=$1 h=$2 field=$3 i=0
    shift 3
    local files=()
    for k in "$@"; do
        i=$((i + 1))
        printf '{"event":{"op":"UPDATE","data":{"old":null,"new":{"%s":%s}}}}' "$field" "$k" >"$tmp/$n.b$i"
        files+=("$tmp/$n.b$i")
    done
    "$VZ" event --queue "atd-vz-data-events-${h}_test" "${files[@]}" >"$tmp/$n.json" || return 1
    DATABASE_URL=$member_url ${VZ_VALGRIND:-} "$VZ" invoke "$tmp/$n.json" >"$tmp/$n.out" 2>>"$tmp/invoke.log" ||
        { echo "invoke $n failed" >&2; return 1; }
    jq '.batchItemFailures | length' "$tmp/$n.out"
}
reset
crashes=$(q "SELECT string_agg(crash_id::text, ' ' ORDER BY crash_id) FROM atd_txdot_crashes")
reports=$(q "SELECT string_agg(case_id::text, ' ' ORDER BY case_id) FROM atd_apd_blueform")

# 1. The grants suffice: every record of every handler succeeds, with the sample's answers.
# shellcheck disable=SC2086
check "location: every crash succeeds under the role" test "$(run loc crash_update_location crash_id $crashes)" = 0
# shellcheck disable=SC2086
check "jurisdiction: every crash succeeds under the role" \
    test "$(run jur crash_update_jurisdiction crash_id $crashes)" = 0
# shellcheck disable=SC2086
check "non-CR3: every report succeeds under the role" \
    test "$(run ncr crash_update_noncr3_location case_id $reports)" = 0
check "crash 5 moved to SVRD-A-E1" \
    test "$(q "SELECT location_id || ' ' || longitude_primary FROM atd_txdot_crashes WHERE crash_id = 5")" = \
    "SVRD-A-E1 -97.7293"
check "crash 13 outside full purpose" test "$(q "SELECT austin_full_purpose FROM atd_txdot_crashes WHERE crash_id = 13")" = N
check "report 101 in INT-1" test "$(q "SELECT location_id FROM atd_apd_blueform WHERE case_id = 101")" = INT-1
check "the audit trigger logged the writes as the member" \
    test "$(q "SELECT count(*) > 20 AND bool_and(updated_by = '$member') FROM atd_txdot_change_log")" = t
check "the audit trigger read the lookups (cost of crash 5)" \
    test "$(q "SELECT est_comp_cost FROM atd_txdot_crashes WHERE crash_id = 5")" = 250000
logged=$(q "SELECT count(*) FROM atd_txdot_change_log")
# shellcheck disable=SC2086
check "second delivery: every crash succeeds" test "$(run loc2 crash_update_location crash_id $crashes)" = 0
check "second delivery: nothing written" test "$(q "SELECT count(*) FROM atd_txdot_change_log")" = "$logged"

# 2. One grant missing: the writing record fails alone and nothing is written.
snapshot() { q "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT c::text AS t FROM atd_txdot_crashes c
                UNION ALL SELECT b::text FROM atd_apd_blueform b UNION ALL SELECT l::text FROM atd_txdot_change_log l) s"; }
missing() { # missing WHAT GRANT-OBJECT HANDLER FIELD KEY: revoke, run the record KEY (it writes), re-grant
    local what=$1 obj=$2 h=$3 field=$4 key=$5
    reset
    q "REVOKE $obj FROM $group" >/dev/null
    local before after n
    before=$(snapshot)
    n=$(run "miss_$(echo "$what" | tr -c 'a-z0-9' _)" "$h" "$field" "$key")
    after=$(snapshot)
    q "GRANT $obj TO $group" >/dev/null
    check "without $what: $h fails the record that writes ($n of 1)" test "$n" = 1
    check "without $what: nothing written" test "$before" = "$after"
    check "without $what: the failure names the privilege" grep -q "permission denied" "$tmp/invoke.log"
    : >"$tmp/invoke.log"
}
missing "INSERT on the change log" "INSERT ON atd_txdot_change_log" crash_update_location crash_id 5
missing "USAGE on the change log's sequence" "USAGE ON SEQUENCE atd_txdot_change_log_change_log_id_seq" \
    crash_update_jurisdiction crash_id 13
for t in atd_txdot__est_comp_cost atd_txdot__speed_mgmt_lkp atd__mode_category_lkp atd_txdot_units \
    atd_txdot__veh_unit_desc_lkp atd_txdot__veh_body_styl_lkp; do
    missing "SELECT on $t" "SELECT ON $t" crash_update_location crash_id 5
done
missing "UPDATE of the coordinates" "UPDATE (latitude_primary, longitude_primary) ON atd_txdot_crashes" \
    crash_update_location crash_id 5
missing "UPDATE of austin_full_purpose" "UPDATE (austin_full_purpose) ON atd_txdot_crashes" \
    crash_update_jurisdiction crash_id 13
missing "UPDATE of the reports' location_id" "UPDATE (location_id) ON atd_apd_blueform" \
    crash_update_noncr3_location case_id 101
missing "SELECT on the main lanes" "SELECT ON cr3_mainlanes" crash_update_location crash_id 5

# 3. Least privilege: the member cannot do what the handlers never do.
mq() { psql "$member_url" -XAtq -c "$1" 2>&1; }
check "no DELETE" grep -q "permission denied" <<<"$(mq "DELETE FROM atd_txdot_crashes")"
check "no UPDATE of other columns" grep -q "permission denied" <<<"$(mq "UPDATE atd_txdot_crashes SET city_id = 1")"
check "no reading the change log" grep -q "permission denied" <<<"$(mq "SELECT count(*) FROM atd_txdot_change_log")"
check "no writing the locations" grep -q "permission denied" \
    <<<"$(mq "UPDATE atd_txdot_locations SET description = 'x'")"

echo "role: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
