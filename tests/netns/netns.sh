#!/usr/bin/env bash
# netns.sh -- dead connections, as an operator meets them: vz-events (behind vz-emulator) and its
# PostgreSQL + PostGIS (scripts/db) in network namespaces of their own, joined by a veth pair, and
# the established flow dropped silently (iptables DROP, no reset) inside those namespaces.
# Needs root (ip netns, iptables); every process, namespace, rule and file it makes is removed at
# the end.
#
# usage: netns.sh SCENARIO VZ_EMULATOR VZ_EVENTS VZ_EVENTS_TEST FIXTURES_DIR SOURCE_DIR
#   db_drop       the idle connection's flow dropped silently between two batches: the next batch
#                 finds it dead after tcp_user_timeout (2 s), goes on on a new connection and
#                 succeeds (WARN says so); the statements sent on the dead one are never delivered
#                 when the path comes back.  Then the same flow reset (REJECT tcp-reset): replaced
#                 at once.
#   db_deadline   the same drop with the detection turned off in DATABASE_URL (tcp_user_timeout=0,
#                 keepalives=0): the batch is answered at the deadline, every record failed; when
#                 the path comes back, nothing of it commits (the connection was reset, not left
#                 to retransmit), and the redelivery succeeds.
#   db_connect    the first connection unanswered after its handshake (every later packet of it
#                 dropped) with PGCONNECT_TIMEOUT=2: the attempt is abandoned after 2 s and another
#                 made, and the batch succeeds (libpq alone waits on the first until the deadline).
#   db_failover   a streaming replica in a third namespace; the primary goes silent (every packet
#                 dropped), the replica is promoted and the name the URL uses now points to it: the
#                 batch succeeds on the new primary within a few seconds.
#   db_lossy      200 +- 100 ms delay (vz-nfq-delay, an NFQUEUE reader) on the database's answers and
#                 5 % loss both ways (iptables statistic): 700 records in 7 batches of 100; every
#                 record reported succeeded is committed, and once the failed ones are redelivered
#                 every row is right.
#   sqs_drop      the endpoint's keep-alive connection to the SQS server dropped silently: the
#                 first attempt gives up after 2 s, the second (a new connection) queues the
#                 message; every 200 is a message in the queue.
# Each scenario prints the time to recover ("recovered in N ms") and checks that every record
# reported succeeded is committed, and every one reported failed is not.
here=$(cd "$(dirname "$0")" && pwd)
SRC=$6
NFQ=${7:-}
# shellcheck source=../runtime/lib.sh
. "$here/../runtime/lib.sh" "$1" "$2" "$3" "$4" "$5"
# shellcheck source=../runtime/servers_lib.sh
. "$here/../runtime/servers_lib.sh"
PGBIN=${VZ_PG_BIN:-/usr/lib/postgresql/15/bin}
NS_RT=vzrt$$
NS_DB=vzdb$$
NS_DB2=vzdc$$
NETNS_MADE=
PG2_STARTED=
NFQ_PID=
REAL_EMU=$EMU_BIN

cleanup_netns() {
    stop_emu
    [ -n "$NFQ_PID" ] && kill -TERM "$NFQ_PID" 2>/dev/null && wait "$NFQ_PID" 2>/dev/null
    [ -n "$SQS_STARTED" ] && ip netns exec "$NS_RT" "$SRC/scripts/sqs-server" stop "$tmp/sqs" >/dev/null 2>&1
    [ -n "$PG_STARTED" ] && "$SRC/scripts/db" stop "$tmp/pg" >/dev/null 2>&1
    [ -n "$PG2_STARTED" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$tmp/pg2/data" -m immediate -w stop >/dev/null 2>&1
    if [ -n "$NETNS_MADE" ]; then
        local ns
        for ns in "$NS_RT" "$NS_DB" "$NS_DB2"; do
            # Anything still running in a namespace keeps it alive: end it, by pid.
            ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
            ip netns del "$ns" 2>/dev/null
        done
        rm -rf "/etc/netns/$NS_RT"
    fi
    if [ -n "${VZ_TEST_LOG_DIR:-}" ] && [ -d "$tmp" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/netns_$SCENARIO"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/netns_$SCENARIO/" 2>/dev/null
        [ -f "$tmp/pg/log" ] && cp "$tmp/pg/log" "$VZ_TEST_LOG_DIR/netns_$SCENARIO/postgres.log"
    fi
    rm -rf "$tmp"
}
trap cleanup_netns EXIT

if [ "$(id -u)" -ne 0 ] || ! command -v iptables >/dev/null; then
    echo "FAIL: netns.sh needs root and iptables (scripts/packages.txt)" >&2
    exit 1
fi

# link NS_A IP_A NS_B IP_B NAME: a veth pair between two namespaces, a /24 on each end.
link() {
    ip link add "$5a" type veth peer name "$5b" &&
        ip link set "$5a" netns "$1" && ip link set "$5b" netns "$3" &&
        ip -n "$1" addr add "$2/24" dev "$5a" && ip -n "$3" addr add "$4/24" dev "$5b" &&
        ip -n "$1" link set "$5a" up && ip -n "$3" link set "$5b" up
}
make_netns() {
    local ns
    NETNS_MADE=1
    for ns in "$NS_RT" "$NS_DB" "$NS_DB2"; do
        ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL: ip netns add $ns" >&2; exit 1; }
    done
    link "$NS_RT" 10.231.1.1 "$NS_DB" 10.231.1.2 "v$$a" || { echo "FAIL: veth to $NS_DB" >&2; exit 1; }
    link "$NS_RT" 10.231.2.1 "$NS_DB2" 10.231.2.2 "v$$b" || { echo "FAIL: veth to $NS_DB2" >&2; exit 1; }
    # vz-emulator (and the runtime it starts) in the runtime's namespace; the name vz-db resolves
    # through that namespace's own hosts file (ip netns exec binds /etc/netns/NS/hosts).
    mkdir -p "/etc/netns/$NS_RT"
    printf '127.0.0.1 localhost\n10.231.1.2 vz-db\n' >"/etc/netns/$NS_RT/hosts"
    printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS_RT" "$REAL_EMU" >"$tmp/emu-in-netns"
    chmod +x "$tmp/emu-in-netns"
    EMU_BIN=$tmp/emu-in-netns
}
# in NS CMD...: run a command in a namespace; ipt NS ARGS...: iptables there
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ipt() { local ns=$1; shift; ip netns exec "$ns" iptables "$@"; }

# The primary in $NS_DB, listening on its veth address too (trust from the test network).
start_pg_netns() {
    PG_STARTED=1
    if ! VZ_PG_LISTEN='*' VZ_PG_TRUST=10.231.0.0/16 in_ns "$NS_DB" "$SRC/scripts/db" start "$tmp/pg" >"$tmp/pg.env" 2>"$tmp/pg.err"; then
        echo "FAIL: PostgreSQL did not start" >&2
        cat "$tmp/pg.err" >&2
        exit 1
    fi
    PGPORT=$(cat "$tmp/pg/port")
    export PGPORT
    # The test reads and writes through the unix socket, which no rule of a namespace touches.
    DATABASE_URL="postgresql://postgres@/vz?host=$tmp/pg&port=$PGPORT"
    export DATABASE_URL
    RT_URL="postgresql://postgres@vz-db:$PGPORT/vz?sslmode=disable"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
invoke() { # as lib.sh's, from inside the runtime's namespace
    local n=$1
    shift
    in_ns "$NS_RT" curl -s --noproxy '*' --max-time 120 -o "$tmp/$n" -D "$tmp/$n.hdr" -w '%{http_code}' "$@" "$URL" >"$tmp/$n.code"
}
# timed_invoke NAME EVENT: invoke, and the time it took in $tmp/NAME.ms
timed_invoke() {
    local t0
    t0=$(now_ms)
    invoke "$1" -d @"$tmp/$2.json"
    echo $(($(now_ms) - t0)) >"$tmp/$1.ms"
}
ms_of() { cat "$tmp/$1.ms"; }
failed_ids() { jq -r '.batchItemFailures[].itemIdentifier' "$tmp/$1" 2>/dev/null; }
keys_of_ids() {
    jq -r --slurpfile ids <(jq -R . | jq -s .) '.Records[] | select(.messageId as $m | $ids[0] | index($m)) | .body | fromjson | .event.data.new.crash_id' "$tmp/$1.json"
}
KEYS="1 2 3 4 5 6 7 8 9 10"
# Every flag wrong, so that each record of the batch writes (but crash 4's: it has no position, and
# the crashes' trigger keeps it 'Y', the right answer); the flags as they are then in $tmp/before.
flag_rows() { q "SELECT crash_id || ' ' || coalesce(austin_full_purpose, 'NULL') FROM atd_txdot_crashes WHERE crash_id BETWEEN 1 AND 10 ORDER BY crash_id"; }
flags_wrong() {
    q "UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id BETWEEN 1 AND 10"
    flag_rows >"$tmp/before"
}
flags() { flag_rows | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }
# reports_match ANSWER EVENT: every record reported succeeded has its flag right, every one
# reported failed still has it as it was before the batch (nothing reported failed committed).
reports_match() {
    local failed key bad=0
    failed=" $(failed_ids "$1" | keys_of_ids "$2" | tr '\n' ' ')"
    flag_rows >"$tmp/now"
    for key in $KEYS; do
        case "$failed" in
        *" $key "*) [ "$(grep "^$key " "$tmp/now")" = "$(grep "^$key " "$tmp/before")" ] || { echo "crash $key reported failed, committed" >&2; bad=1; } ;;
        *) [ "$(grep "^$key " "$tmp/now")" = "$key Y" ] || { echo "crash $key reported succeeded, not committed" >&2; bad=1; } ;;
        esac
    done
    [ $bad -eq 0 ]
}
n_failed() { failed_ids "$1" | wc -l; }
# The runtime's backend: pid, client port, when its last query started.
backend() { q "SELECT $1 FROM pg_stat_activity WHERE application_name = 'vz-events' AND client_addr IS NOT NULL ORDER BY backend_start DESC LIMIT 1"; }
# drop_flow NS PORT CLIENT_PORT [TARGET]: drop (or reset) that TCP flow, both ways, in NS
drop_flow() {
    local ns=$1 port=$2 cport=$3 target=${4:-DROP}
    if [ "$target" = DROP ]; then
        ipt "$ns" -I INPUT -p tcp --sport "$cport" --dport "$port" -j DROP &&
            ipt "$ns" -I OUTPUT -p tcp --sport "$port" --dport "$cport" -j DROP
    else
        ipt "$ns" -I INPUT -p tcp --sport "$cport" --dport "$port" -j REJECT --reject-with tcp-reset
    fi
}
flush_rules() { ipt "$1" -F INPUT && ipt "$1" -F OUTPUT; }
report_time() { echo "$SCENARIO: $1 in $2 ms"; }
# first_batch: the first batch of a fresh runtime, every record succeeding; sets the caller's
# pid, cport and started to its database backend's pid, client port and query start.
first_batch() {
    flags_wrong
    timed_invoke a1 a
    check "first batch: every record succeeded" body_is a1 '{"batchItemFailures":[]}'
    pid=$(backend pid)
    cport=$(backend client_port)
    started=$(backend query_start)
}

scenario_db_drop() {
    make_netns
    start_pg_netns
    hasura_events a crash_update_jurisdiction_test netns $KEYS
    # keepalives_idle=600: as in a frozen function, where no probe is sent between invocations
    start_emu --timeout 10 -- env DATABASE_URL="$RT_URL&keepalives_idle=600" "$VZ"
    local pid cport started
    first_batch
    check "the runtime's backend is known (pid $pid, client port $cport)" test -n "$pid" -a -n "$cport"
    drop_flow "$NS_DB" "$PGPORT" "$cport"
    flags_wrong
    timed_invoke a2 a
    report_time "silently dropped connection: batch answered" "$(ms_of a2)"
    check "dropped: the batch succeeded on a new connection" body_is a2 '{"batchItemFailures":[]}'
    check "dropped: answered within 5 s ($(ms_of a2) ms; the deadline is 10 s)" test "$(ms_of a2)" -lt 5000
    check "dropped: every report matches the database" reports_match a2 a
    check "dropped: a WARN says the connection was dead and is replaced" \
        log_has 'WARN .*acknowledged nothing within tcp_user_timeout.*retrying once on a new connection'
    check "dropped: the runtime survived" starts_are 1
    flush_rules "$NS_DB"
    sleep 4
    # The abandoned connection's statements must never arrive: its backend saw nothing new.
    check "path back: the abandoned backend ran nothing more" test "$(q "SELECT query_start FROM pg_stat_activity WHERE pid = $pid")" = "$started"

    # A reset connection (what held): replaced at once.
    cport=$(backend client_port)
    drop_flow "$NS_DB" "$PGPORT" "$cport" RESET
    flags_wrong
    timed_invoke a3 a
    report_time "reset connection: batch answered" "$(ms_of a3)"
    check "reset: every record succeeded" body_is a3 '{"batchItemFailures":[]}'
    check "reset: answered within 3 s ($(ms_of a3) ms)" test "$(ms_of a3)" -lt 3000
    check "reset: every report matches the database" reports_match a3 a
    flush_rules "$NS_DB"
}

scenario_db_deadline() {
    make_netns
    start_pg_netns
    hasura_events a crash_update_jurisdiction_test netns $KEYS
    start_emu --timeout 4 -- env DATABASE_URL="$RT_URL&tcp_user_timeout=0&keepalives=0" "$VZ"
    local pid cport started
    first_batch
    drop_flow "$NS_DB" "$PGPORT" "$cport"
    flags_wrong
    timed_invoke a2 a
    report_time "dropped connection, detection off: batch answered" "$(ms_of a2)"
    check "detection off: the batch is answered, before the deadline (no Sandbox.Timedout)" succeeded a2
    check "detection off: every record failed" test "$(n_failed a2)" -eq 10
    check "detection off: the error says what is known" \
        log_has 'before the invocation.s deadline; .*the connection was reset, so nothing it had not sent will run'
    flush_rules "$NS_DB"
    # Before the fix the kernel went on retransmitting the abandoned pipeline, and some of its
    # transactions committed once the path came back (2.3 s later in one run).
    sleep 6
    check "path back, 6 s later: nothing reported failed committed" reports_match a2 a
    check "path back: the abandoned backend ran nothing more" test "$(q "SELECT query_start FROM pg_stat_activity WHERE pid = $pid")" = "$started"
    timed_invoke a3 a
    report_time "redelivery" "$(ms_of a3)"
    check "redelivery: every record succeeded" body_is a3 '{"batchItemFailures":[]}'
    check "redelivery: every report matches the database" reports_match a3 a
    check "the runtime survived" starts_are 1
}

scenario_db_connect() {
    make_netns
    start_pg_netns
    hasura_events a crash_update_jurisdiction_test netns $KEYS
    # tcp_user_timeout=5000: so that it is connect_timeout that ends the unanswered attempt
    start_emu --timeout 10 -- env DATABASE_URL="$RT_URL&tcp_user_timeout=5000" PGCONNECT_TIMEOUT=2 "$VZ"
    flags_wrong
    # The first connection to the server goes unanswered once its handshake is done: its SYN marks
    # it (conntrack mark; a quota of one SYN) and every later packet of it is dropped.  Later
    # connections pass.
    ipt "$NS_DB" -A INPUT -p tcp --dport "$PGPORT" --syn -m connmark --mark 0 -m quota --quota 60 -j CONNMARK --set-mark 1
    ipt "$NS_DB" -A INPUT -p tcp --dport "$PGPORT" ! --syn -m connmark --mark 1 -j DROP
    timed_invoke a1 a
    report_time "first connection unanswered: batch answered" "$(ms_of a1)"
    check "unanswered connect: the batch succeeded" body_is a1 '{"batchItemFailures":[]}'
    check "unanswered connect: within 5 s ($(ms_of a1) ms; connect_timeout 2 s, the deadline 10 s)" test "$(ms_of a1)" -lt 5000
    check "unanswered connect: a WARN names connect_timeout and the next attempt" \
        log_has 'WARN .*longer than connect_timeout \(2 s.*attempt 2 with'
    check "unanswered connect: every report matches the database" reports_match a1 a
    check "the first connection's packets were dropped" \
        test "$(ipt "$NS_DB" -L INPUT -v -x -n | awk '/DROP/ {print $1}')" -ge 1
    flush_rules "$NS_DB"
}

scenario_db_failover() {
    make_netns
    start_pg_netns
    # A streaming replica in $NS_DB2, copied over the primary's unix socket.
    mkdir -p "$tmp/pg2" && chown postgres: "$tmp/pg2" && chmod 700 "$tmp/pg2"
    runuser -u postgres -- "$PGBIN/pg_basebackup" -h "$tmp/pg" -p "$PGPORT" -U postgres -D "$tmp/pg2/data" -R -X stream --checkpoint=fast \
        >"$tmp/basebackup.log" 2>&1 || { echo "FAIL: pg_basebackup" >&2; cat "$tmp/basebackup.log" >&2; exit 1; }
    echo "unix_socket_directories = '$tmp/pg2'" >>"$tmp/pg2/data/postgresql.conf"
    PG2_STARTED=1
    in_ns "$NS_DB2" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$tmp/pg2/data" -l "$tmp/pg2/log" -w -t 60 -o "-p $PGPORT" start \
        >/dev/null 2>&1 || { echo "FAIL: the replica did not start" >&2; tail -5 "$tmp/pg2/log" >&2; exit 1; }
    q2() { psql "postgresql://postgres@/vz?host=$tmp/pg2&port=$PGPORT" -XAtq -c "$1"; }
    check "the replica is in recovery" test "$(q2 'SELECT pg_is_in_recovery()')" = t
    hasura_events a crash_update_jurisdiction_test netns $KEYS
    # keepalives_idle=600: as in a frozen function, where no probe is sent between invocations
    start_emu --timeout 10 -- env DATABASE_URL="$RT_URL&keepalives_idle=600" "$VZ"
    flags_wrong
    timed_invoke a1 a
    check "on the primary: every record succeeded" body_is a1 '{"batchItemFailures":[]}'
    local lsn
    lsn=$(q 'SELECT pg_current_wal_lsn()')
    for _ in $(seq 100); do
        [ "$(q2 "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
        sleep 0.1
    done
    check "the replica caught up" test "$(q2 "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t
    # The primary goes silent: every packet in its namespace dropped, no reset.
    ipt "$NS_DB" -I INPUT -j DROP
    ipt "$NS_DB" -I OUTPUT -j DROP
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$tmp/pg2/data" -w promote >/dev/null 2>&1
    check "the replica was promoted" test "$(q2 'SELECT pg_is_in_recovery()')" = f
    # What the failover's DNS change does: the name now points to the new primary.
    printf '127.0.0.1 localhost\n10.231.2.2 vz-db\n' >"/etc/netns/$NS_RT/hosts"
    DATABASE_URL="postgresql://postgres@/vz?host=$tmp/pg2&port=$PGPORT" # the test's queries: the new primary
    flags_wrong
    timed_invoke a2 a
    report_time "failover, old primary silent: batch answered" "$(ms_of a2)"
    check "failover: the batch succeeded on the new primary" body_is a2 '{"batchItemFailures":[]}'
    check "failover: a WARN says the connection was dead and is replaced" \
        log_has 'WARN .*acknowledged nothing within tcp_user_timeout.*retrying once on a new connection'
    check "failover: within 5 s ($(ms_of a2) ms; the deadline is 10 s)" test "$(ms_of a2)" -lt 5000
    check "failover: every report matches the new primary" reports_match a2 a
    check "failover: the runtime reconnected to the new primary" \
        test "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vz-events' AND client_addr IS NOT NULL")" -ge 1
    check "failover: the runtime survived" starts_are 1
    flush_rules "$NS_DB"
}

scenario_db_lossy() {
    [ -x "$NFQ" ] || { echo "FAIL: vz-nfq-delay was not built ($NFQ): install libnetfilter-queue-dev (scripts/deps)" >&2; exit 1; }
    make_netns
    start_pg_netns
    in_ns "$NS_DB" "$NFQ" 0 200 100 2>"$tmp/nfq.log" &
    NFQ_PID=$!
    ipt "$NS_DB" -A OUTPUT -p tcp --sport "$PGPORT" -m statistic --mode random --probability 0.05 -j DROP
    ipt "$NS_DB" -A OUTPUT -p tcp --sport "$PGPORT" -j NFQUEUE --queue-num 0 --queue-bypass
    ipt "$NS_DB" -A INPUT -p tcp --dport "$PGPORT" -m statistic --mode random --probability 0.05 -j DROP
    local keys=() round k t0 total=0 failed redo bad=0 answered=0
    for _ in 1 2 3 4 5 6 7 8 9 10; do keys+=($KEYS); done
    hasura_events b crash_update_jurisdiction_test lossy "${keys[@]}"
    start_emu --timeout 30 -- env DATABASE_URL="$RT_URL" "$VZ"
    t0=$(now_ms)
    for round in 1 2 3 4 5 6 7; do
        flags_wrong
        timed_invoke "b$round" b
        succeeded "b$round" && answered=$((answered + 1))
        failed=$(n_failed "b$round")
        total=$((total + 100))
        # A key with a record reported succeeded is committed (nothing reported succeeded that was not).
        flag_rows >"$tmp/now"
        for k in $(jq -r --slurpfile f <(failed_ids "b$round" | jq -R . | jq -s .) \
            '.Records[] | select(.messageId as $m | $f[0] | index($m) | not) | .body | fromjson | .event.data.new.crash_id' "$tmp/b.json" | sort -u); do
            grep -qx "$k Y" "$tmp/now" || { echo "round $round: crash $k reported succeeded, not committed" >&2; bad=1; }
        done
        # SQS redelivers what failed, until nothing does (at most 3 times).
        redo=$failed
        for attempt in 1 2 3; do
            [ "$redo" -eq 0 ] && break
            mapfile -t again < <(failed_ids "b$round" | keys_of_ids b)
            hasura_events "r$round" crash_update_jurisdiction_test lossy "${again[@]}"
            timed_invoke "b$round" "r$round"
            redo=$(n_failed "b$round")
        done
        echo "$SCENARIO: batch $round of 100: $failed failed, all done after redelivery: $([ "$redo" -eq 0 ] && echo yes || echo no); $(ms_of "b$round") ms for the last invocation"
        check "round $round: every row right after redelivery" test "$(flags)" = "Y Y Y Y Y Y Y Y Y Y"
    done
    report_time "700 records under 200 +- 100 ms delay and 5 % loss" "$(($(now_ms) - t0))"
    check "every batch was answered" test "$answered" -eq 7
    check "nothing reported succeeded that was not committed" test "$bad" -eq 0
    check "the delay program ran" grep -q 'queue 0' "$tmp/nfq.log"
    echo "$SCENARIO: $(log_count 'retrying once on a new connection') batch(es) met a connection that died under the loss"
    check "the runtime survived" starts_are 1
}

scenario_sqs_drop() {
    local qn=atd-vz-data-events-crash_update_location_test
    make_netns
    # The SQS server in the runtime's namespace; the flow is dropped on its loopback.
    SQS_VIA="in_ns $NS_RT" start_sqs "$qn"
    local sport key ok=0 cport n
    sport=${AWS_ENDPOINT_URL_SQS##*:}
    key=netns-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    [ -n "${VZ_TEST_LOG_DIR:-}" ] && mkdir -p "$VZ_TEST_LOG_DIR" && echo "$key" >>"$VZ_TEST_LOG_DIR/.secrets"
    rm -f "$tmp/url.port"
    start_emu --timeout 10 --url-port 0 --url-port-file "$tmp/url.port" -- env HASURA_EVENT_API="$key" "$VZ"
    for _ in $(seq 100); do [ -s "$tmp/url.port" ] && break; sleep 0.05; done
    local url=http://127.0.0.1:$(cat "$tmp/url.port")/events/
    post() { # post NAME CRASH_ID: status in NAME.code, time in NAME.ms
        local t0
        t0=$(now_ms)
        in_ns "$NS_RT" curl -s --noproxy '*' --max-time 30 -o "$tmp/$1" -w '%{http_code}' -H "HASURA_EVENT_API: $key" \
            -H 'HASURA_EVENT_NAME: crash_update_location_test' -H 'Content-Type: application/json' \
            -d "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":$2}}},\"id\":\"netns-$2\"}" "$url" >"$tmp/$1.code"
        echo $(($(now_ms) - t0)) >"$tmp/$1.ms"
        [ "$(cat "$tmp/$1.code")" = 200 ] && ok=$((ok + 1))
    }
    post p1 1
    check "SQS reachable: 200" code_is p1 200
    # The endpoint's keep-alive connection to the SQS server: its local port.
    cport=$(in_ns "$NS_RT" ss -Htn state established "( dport = :$sport )" | awk '{print $3}' | sed 's/.*://' | head -1)
    check "the keep-alive connection is open (port $cport)" test -n "$cport"
    ipt "$NS_RT" -I INPUT -p tcp --sport "$cport" --dport "$sport" -j DROP
    ipt "$NS_RT" -I INPUT -p tcp --sport "$sport" --dport "$cport" -j DROP
    post p2 2
    report_time "silently dropped SQS connection: POST answered" "$(ms_of p2)"
    check "dropped: 200 from a retry on a new connection" code_is p2 200
    check "dropped: answered within 4 s ($(ms_of p2) ms)" test "$(ms_of p2)" -lt 4000
    check "dropped: attempt 1 gave up and attempt 2 ran" log_has 'SQS SendMessage for .*: attempt 1 of 3 failed .*Timeout was reached.*; attempt 2 in'
    post p3 3
    check "after: 200" code_is p3 200
    flush_rules "$NS_RT"
    n=$(in_ns "$NS_RT" curl -s --noproxy '*' --aws-sigv4 "aws:amz:$AWS_REGION:sqs" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: AmazonSQS.GetQueueAttributes' \
        -d "{\"QueueUrl\":\"$AWS_ENDPOINT_URL_SQS/000000000000/$qn\",\"AttributeNames\":[\"All\"]}" "$AWS_ENDPOINT_URL_SQS/" |
        jq '.Attributes | (.ApproximateNumberOfMessages | tonumber) + (.ApproximateNumberOfMessagesDelayed | tonumber) + (.ApproximateNumberOfMessagesNotVisible | tonumber)')
    check "every 200 is a message in the queue ($ok answered 200, $n queued)" test "${n:-0}" -ge "$ok" -a "${n:-0}" -le 4
    check "the key is in no log line" bash -c "! grep -qF '$key' '$tmp/emu.log'"
    check "the runtime survived" starts_are 1
}

case "$SCENARIO" in
db_drop | db_deadline | db_connect | db_failover | db_lossy | sqs_drop) "scenario_$SCENARIO" ;;
*)
    echo "netns.sh: unknown scenario $SCENARIO" >&2
    exit 2
    ;;
esac
finish
