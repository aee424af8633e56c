#!/usr/bin/env bash
# role_test.sh -- every handler folder under the least-privilege role of db/role.sql.
# usage: role_test.sh VZ_EVENTS      (needs DATABASE_URL: a superuser on the server scripts/test starts)
#
# The handler folders are discovered (deploy/handlerconf.py json: every folder whose function uses the
# database), never named here.  A folder's records are its fixtures/*.json (Hasura payloads) and one
# UPDATE event per row of its table (`table`, else its trigger's table; the row as `new`, keyed by
# `key`, else the table's primary key).  In a database of its own on that server (db/schema.sql,
# every handlers/*/schema.sql in name order as the city's migrations would apply them, the sample
# city), as login members of roles made here:
#   1. each folder alone: a role of only that folder's grants (deploy/role --only NAME) runs all its
#      records; none fails, nothing says "permission denied", and the rows end as when the tables'
#      owner runs the same records -- so a folder that forgets a grant fails here, naming itself;
#   2. the committed db/role.sql (all folders): every record of every folder succeeds, the audit
#      trigger logged each write under the member's name and read its lookups, a second delivery
#      writes nothing; the script runs twice, and finds the change log's sequence when the sequence
#      is owned by no column (production's shapes);
#   3. every privilege the role holds (as the database lists them, column by column) is needed:
#      with it revoked, some record of a folder whose own grants hold it fails with "permission
#      denied";
#   4. the member cannot do what no handler does.
# The database and every role are dropped at the end.
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
url_of() { printf '%s' "$admin_url" | sed -E "s#^postgresql://[^@]*@#postgresql://$1@#"; }
member_url=$(url_of "$member")
roles=("$member" "$group")
cleanup() {
    psql "$DATABASE_URL" -Xq -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
    local r
    for r in "${roles[@]}"; do psql "$DATABASE_URL" -Xq -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
    if [ -n "${VZ_TEST_LOG_DIR:-}" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/role"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/role/" 2>/dev/null
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
q() { psql "$admin_url" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
fatal() { echo "FAIL: $*" >&2; exit 1; }

# The folders, as the one reader of handler folders sees them.
python3 "$root/deploy/handlerconf.py" json >"$tmp/handlers.json" || fatal "deploy/handlerconf.py json refused a folder"
mapfile -t names < <(jq -r '.[] | select(.database) | .name' "$tmp/handlers.json")
[ "${#names[@]}" -gt 0 ] || fatal "no handler folder uses the database"
echo "role: handler folders using the database: ${names[*]}"

psql "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null || exit 1
{
    psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION postgis" \
        -f "$root/db/schema.sql" || exit 1
    for f in "$root"/handlers/*/schema.sql; do # the city's migrations, in name order (docs/handlers.md)
        [ -f "$f" ] || continue
        psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -f "$f" || { echo "${f#"$root"/} failed" >&2; exit 1; }
    done
} >/dev/null 2>"$tmp/load.log" || { cat "$tmp/load.log" >&2; exit 1; }
# A folder's schema.sql may meet staging's database twice (a pull-request stage applies it first, the
# city's migration again): it must run twice without harm (docs/handlers.md, "Schema changes").
for f in "$root"/handlers/*/schema.sql; do
    [ -f "$f" ] || continue
    check "${f#"$root"/} runs a second time" psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -f "$f"
done

# Functions are executable by PUBLIC unless the database says otherwise; here they are not, so that the
# folders' EXECUTE grants are what lets the handlers call them (and a missing one is seen).
jq -r '[.[] | .grants[] | select(.kind == "function") | .object] | unique | .[]' "$tmp/handlers.json" |
    while IFS= read -r f; do q "REVOKE EXECUTE ON FUNCTION $f FROM PUBLIC" >/dev/null || exit 1; done ||
    fatal "cannot revoke PUBLIC's EXECUTE on the folders' functions"

reset() { psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -f "$root/db/sample.sql" >/dev/null 2>>"$tmp/load.log"; }
reset || fatal "db/sample.sql does not load: $(cat "$tmp/load.log")"

# records NAME: write the folder's events into $tmp/rec.NAME.*.json (fixtures, then one per row of its table).
records() {
    local n=$1 h table key schema rel i=0 f
    h=$(jq -c --arg n "$n" '.[] | select(.name == $n)' "$tmp/handlers.json")
    rm -f "$tmp/rec.$n".*.json
    for f in "$root/handlers/$n"/fixtures/*.json; do
        [ -f "$f" ] || continue
        i=$((i + 1))
        cp "$f" "$tmp/rec.$n.$(printf %06d $i).json"
    done
    table=$(jq -r '.table // (if .trigger then (.trigger.schema + "." + .trigger.table) else "" end)' <<<"$h")
    if [ -n "$table" ]; then
        case $table in *.*) ;; *) table=public.$table ;; esac
        schema=${table%%.*} rel=${table#*.}
        key=$(jq -r '.key // ""' <<<"$h")
        if [ -z "$key" ]; then
            key=$(q "SELECT a.attname FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid
                      AND a.attnum = x.indkey[0] WHERE x.indrelid = format('%I.%I', '$schema', '$rel')::regclass
                      AND x.indisprimary AND x.indnkeyatts = 1") ||
                { echo "handlers/$n: its table $table has no one-column primary key to send events by" >&2; return 1; }
        fi
        trigger=$(jq -r '.trigger.name // $n' --arg n "$n" <<<"$h")
        # One Hasura event per row, the row as data.new (what an UPDATE of the row would send).
        q "SELECT json_build_object('event', json_build_object('op', 'UPDATE', 'session_variables',
                  json_build_object('x-hasura-role', 'admin'), 'data', json_build_object('old', r, 'new', r)),
                  'trigger', json_build_object('name', '$trigger'),
                  'table', json_build_object('schema', '$schema', 'name', '$rel'))
             FROM (SELECT to_jsonb(t) AS r FROM $(printf '"%s"."%s"' "$schema" "$rel") t
                    ORDER BY t.$(printf '"%s"' "$key")) s" >"$tmp/rows.$n" || return 1
        while IFS= read -r line; do
            i=$((i + 1))
            printf '%s' "$line" >"$tmp/rec.$n.$(printf %06d $i).json"
        done <"$tmp/rows.$n"
    fi
    [ "$i" -gt 0 ] || {
        echo "handlers/$n: nothing to run under the role: add fixtures/*.json (a Hasura payload of a sample row)" \
            "or declare its table or trigger in handler.conf" >&2
        return 1
    }
}
for n in "${names[@]}"; do records "$n" || fatal "handlers/$n: cannot make its records"; done

# run NAME URL TAG: every record of the folder, as the login of URL, in one batch; prints the failures.
run() {
    local n=$1 url=$2 tg=$3
    "$VZ" event --queue "atd-vz-data-events-${n}_pr_1" "$tmp/rec.$n".*.json >"$tmp/ev.$tg.$n.json" || return 1
    DATABASE_URL=$url ${VZ_VALGRIND:-} "$VZ" invoke "$tmp/ev.$tg.$n.json" >"$tmp/out.$tg.$n" \
        2>>"$tmp/invoke.$tg.$n.log" || { echo "invoke $tg $n failed" >&2; return 1; }
    jq '.batchItemFailures | length' "$tmp/out.$tg.$n"
}
denied() { cat "$tmp/invoke.$1".*.log 2>/dev/null | grep -o 'permission denied for [a-z]* [a-z0-9_.]*' | sort -u | head -3 | tr '\n' ';'; }
# The crashes, the reports and the change log, without who wrote it or when (sample.sql stamps the rows
# with now()).
snapshot() {
    q "SELECT md5(coalesce(string_agg(t, '|' ORDER BY t), '')) FROM (
         SELECT (to_jsonb(c) - 'last_update')::text AS t FROM atd_txdot_crashes c
         UNION ALL SELECT (to_jsonb(b) - 'last_update')::text FROM atd_apd_blueform b
         UNION ALL SELECT record_id || ' ' || (record_json::jsonb - 'last_update')::text FROM atd_txdot_change_log) s"
}
# make_role ROLE MEMBER SCRIPT: the group role from SCRIPT and a login member of it.
make_role() {
    roles+=("$2" "$1")
    psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$1" -f "$3" >/dev/null 2>>"$tmp/load.log" || return 1
    q "CREATE ROLE $2 LOGIN IN ROLE $1" >/dev/null
}

# privileges GROUP: what the group role holds, one line each, as "PRIVILEGE ON OBJECT|name".
privileges() {
    q "SELECT format('%s ON %s %s|%s', a.privilege_type, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
              c.oid::regclass, c.oid::regclass)
     FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = '$1'::regrole
   UNION ALL
   SELECT format('%s (%I) ON TABLE %s|%s', a.privilege_type, t.attname, c.oid::regclass, c.oid::regclass)
     FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a WHERE a.grantee = '$1'::regrole
   UNION ALL
   SELECT format('EXECUTE ON FUNCTION %s|%s', p.oid::regprocedure, p.proname)
     FROM pg_proc p, aclexplode(p.proacl) a WHERE a.grantee = '$1'::regrole
   ORDER BY 1"
}

# 1. Each folder alone: its own grants suffice, and give the owner's answers.
for n in "${names[@]}"; do
    python3 "$root/deploy/role" --only "$n" >"$tmp/role.$n.sql" || fatal "deploy/role --only $n"
    g1=vz_role_${tag}_h$((${#roles[@]} / 2))
    m1=${g1}_m
    make_role "$g1" "$m1" "$tmp/role.$n.sql" || fatal "the role of handlers/$n alone does not apply: $(cat "$tmp/load.log")"
    privileges "$g1" >"$tmp/privileges.$n"
    reset
    owner_failed=$(run "$n" "$admin_url" "owner")
    owner=$(snapshot)
    reset
    rm -f "$tmp"/invoke.alone.*.log
    failed=$(run "$n" "$(url_of "$m1")" alone)
    check "handlers/$n alone: every record succeeds under its own grants ($failed failed; as the owner $owner_failed)" \
        test "$failed" = "$owner_failed"
    check "handlers/$n alone: no \"permission denied\" ($(denied alone))" test -z "$(denied alone)"
    check "handlers/$n alone: the rows end as under the tables' owner" test "$(snapshot)" = "$owner"
done

echo "role: 1. each folder alone: ${SECONDS} s so far"
# 2. The committed db/role.sql: every folder under one role.
check "db/role.sql is what the folders declare (deploy/role --check)" python3 "$root/deploy/role" --check
make_role "$group" "$member" "$root/db/role.sql" || fatal "db/role.sql does not apply: $(cat "$tmp/load.log")"
check "the group role is not a login role" test "$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = '$group'")" = f
check "role.sql runs twice" psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql"
reset
for n in "${names[@]}"; do
    failed=$(run "$n" "$member_url" all)
    check "db/role.sql: every record of handlers/$n succeeds ($failed failed)" test "$failed" = 0
done
check "db/role.sql: no \"permission denied\" ($(denied all))" test -z "$(denied all)"
check "the audit trigger logged the writes as the member" \
    test "$(q "SELECT count(*) > 0 AND bool_and(updated_by = '$member') FROM atd_txdot_change_log")" = t
check "the audit trigger read the eight lookups (costs, points, modes of a written crash)" \
    test "$(q "SELECT count(*) FILTER (WHERE est_comp_cost > 0 AND est_comp_cost_crash_based > 0 AND est_econ_cost > 0
                 AND speed_mgmt_points IS NOT NULL AND atd_mode_category_metadata IS NOT NULL) > 0
               FROM atd_txdot_crashes WHERE crash_id IN (SELECT record_id FROM atd_txdot_change_log)")" = t
logged=$(q "SELECT count(*) FROM atd_txdot_change_log")
before=$(snapshot)
for n in "${names[@]}"; do
    failed=$(run "$n" "$member_url" again)
    check "second delivery: every record of handlers/$n succeeds" test "$failed" = 0
done
check "second delivery: nothing written ($logged change-log rows)" test "$(snapshot)" = "$before"
q "GRANT SELECT ON atd_txdot_change_log TO $group" >/dev/null # what no folder declares (a removed handler's)
psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -v add_only=1 -f "$root/db/role.sql" >/dev/null
check "role.sql -v add_only=1 revokes nothing" \
    test "$(q "SELECT has_table_privilege('$group', 'atd_txdot_change_log', 'SELECT')")" = t
psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql" >/dev/null
check "role.sql revokes what no folder declares" \
    test "$(q "SELECT has_table_privilege('$group', 'atd_txdot_change_log', 'SELECT')")" = f
seq=$(q "SELECT pg_get_serial_sequence('atd_txdot_change_log', 'change_log_id')")
check "the change log's sequence is production's name ($seq)" test "$seq" = public.atd_txdot_change_log_id_seq
check "the member may use it" \
    test "$(q "SELECT has_sequence_privilege('$member', 'atd_txdot_change_log_id_seq', 'USAGE')")" = t
q "ALTER SEQUENCE atd_txdot_change_log_id_seq OWNED BY NONE" >/dev/null
q "REVOKE USAGE ON SEQUENCE atd_txdot_change_log_id_seq FROM $group" >/dev/null
check "a sequence owned by no column: role.sql finds it from the column's DEFAULT" \
    psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql"
check "and grants it" test "$(q "SELECT has_sequence_privilege('$group', 'atd_txdot_change_log_id_seq', 'USAGE')")" = t
q "ALTER TABLE atd_txdot_change_log ALTER COLUMN change_log_id DROP DEFAULT" >/dev/null
psql "$admin_url" -Xq -v ON_ERROR_STOP=1 -v role="$group" -f "$root/db/role.sql" >/dev/null 2>"$tmp/noseq.log"
rc=$?
check "a change log with no sequence: role.sql stops ($rc) naming the column" \
    grep -q 'column "atd_txdot_change_log".change_log_id draws from no sequence' "$tmp/noseq.log"
check "and, being one transaction, leaves the role as it was" \
    test "$(q "SELECT has_sequence_privilege('$group', 'atd_txdot_change_log_id_seq', 'USAGE')")" = t
q "ALTER TABLE atd_txdot_change_log ALTER COLUMN change_log_id SET DEFAULT nextval('atd_txdot_change_log_id_seq')" >/dev/null
q "ALTER SEQUENCE atd_txdot_change_log_id_seq OWNED BY atd_txdot_change_log.change_log_id" >/dev/null

echo "role: 2. db/role.sql: ${SECONDS} s so far"
# 3. Every privilege is needed: revoke each in turn (as the database lists what the role holds).
privileges "$group" >"$tmp/privileges"
check "the role holds privileges to test ($(wc -l <"$tmp/privileges"))" test -s "$tmp/privileges"
while IFS='|' read -r priv obj; do
    reset
    q "REVOKE $priv FROM $group" >/dev/null
    rm -f "$tmp"/invoke.miss.*.log
    rm -f "$tmp"/failed.*
    # The folders whose own grants hold it (phase 1): one of them must fail without it.
    for n in "${names[@]}"; do
        grep -qxF "$priv|$obj" "$tmp/privileges.$n" && { run "$n" "$member_url" miss >"$tmp/failed.$n" & }
    done
    wait
    [ -n "$(ls "$tmp"/failed.* 2>/dev/null)" ] || echo 0 >"$tmp/failed.none"
    failed=$(($(cat "$tmp"/failed.* | paste -sd+)))
    q "GRANT $priv TO $group" >/dev/null
    check "without $priv: some record fails ($failed)" test "$failed" -gt 0
    check "without $priv: the failure says permission denied" test -n "$(denied miss)"
done <"$tmp/privileges"

echo "role: 3. each of $(wc -l <"$tmp/privileges") privileges revoked in turn: ${SECONDS} s so far"
# 4. Least privilege: the member cannot do what the handlers never do.
mq() { psql "$member_url" -XAtq -c "$1" 2>&1; }
check "no DELETE" grep -q "permission denied" <<<"$(mq "DELETE FROM atd_txdot_crashes")"
check "no UPDATE of other columns" grep -q "permission denied" <<<"$(mq "UPDATE atd_txdot_crashes SET city_id = 1")"
check "no reading the change log" grep -q "permission denied" <<<"$(mq "SELECT count(*) FROM atd_txdot_change_log")"
check "no writing the locations" grep -q "permission denied" \
    <<<"$(mq "UPDATE atd_txdot_locations SET description = 'x'")"

echo "role: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
