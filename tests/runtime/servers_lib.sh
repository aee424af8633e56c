# servers_lib.sh -- the throwaway PostgreSQL and local SQS server that the fault, robustness and
# reconcile scenarios share (sourced with $tmp and $SRC set; hasura_events also needs the
# `event` of tests/runtime/lib.sh).
#   start_pg            scripts/db start "$tmp/pg", DATABASE_URL exported, PG_STARTED=1 (or FAIL, exit 1)
#   pg_pids             the postmaster and every process of the cluster (by its pid file and parentage)
#   kill_cluster        SIGKILL all of them at once and wait until they are gone
#   q SQL               one query's answer, unaligned
#   location ID / flag ID   a crash's location_id / austin_full_purpose ('NULL' for NULL)
#   hasura_events NAME QUEUE TAG KEY...  an SQS event with one Hasura UPDATE payload per crash id
#   start_sqs QUEUE...  the real local SQS server with those queues, its env exported, SQS_STARTED=1
#                       (started through $SQS_VIA when set: SQS_VIA="in_ns NS" start_sqs Q runs it in NS)
PG_STARTED=
SQS_STARTED=
start_pg() {
    if ! "$SRC/scripts/db" start "$tmp/pg" >"$tmp/pg.env" 2>"$tmp/pg.err"; then
        echo "FAIL: PostgreSQL did not start" >&2
        cat "$tmp/pg.err" >&2
        exit 1
    fi
    PG_STARTED=1
    # shellcheck disable=SC1091
    . "$tmp/pg.env"
    export DATABASE_URL
}
pg_pids() {
    local pm
    pm=$(head -1 "$tmp/pg/data/postmaster.pid" 2>/dev/null) || return 0
    [ -n "$pm" ] || return 0
    echo "$pm"
    ps -o pid= --ppid "$pm" 2>/dev/null | tr -d ' '
}
kill_cluster() {
    local pids
    pids=$(pg_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL $pids
    for _ in $(seq 100); do
        # shellcheck disable=SC2086
        kill -0 $pids 2>/dev/null || break
        sleep 0.1
    done
}
q() { psql "$DATABASE_URL" -XAtq -c "$1"; }
location() { q "SELECT coalesce(location_id, 'NULL') FROM atd_txdot_crashes WHERE crash_id = $1"; }
flag() { q "SELECT coalesce(austin_full_purpose, 'NULL') FROM atd_txdot_crashes WHERE crash_id = $1"; }
hasura_events() {
    local n=$1 qn=$2 tag=$3
    shift 3
    local bodies=() k
    for k in "$@"; do
        bodies+=("{\"event\":{\"op\":\"UPDATE\",\"data\":{\"old\":{\"crash_id\":$k},\"new\":{\"crash_id\":$k}}},\"id\":\"$tag-$k\",\"table\":{\"schema\":\"public\",\"name\":\"atd_txdot_crashes\"}}")
    done
    event "$n" "$qn" "${bodies[@]}"
}
start_sqs() {
    # shellcheck disable=SC2086 # SQS_VIA is a command and its arguments
    if ! ${SQS_VIA:-} "$SRC/scripts/sqs-server" start "$tmp/sqs" "$@" >"$tmp/sqs.env" 2>"$tmp/sqs.err"; then
        echo "FAIL: local-aws-sqs did not start" >&2
        cat "$tmp/sqs.err" >&2
        exit 1
    fi
    SQS_STARTED=1
    set -a
    # shellcheck disable=SC1091
    . "$tmp/sqs.env"
    set +a
}
