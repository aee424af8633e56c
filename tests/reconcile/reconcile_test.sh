#!/usr/bin/env bash
# reconcile_test.sh -- `vz-events reconcile` and the scheduled reconcile function against a real
# PostgreSQL + PostGIS: a throwaway cluster of its own (scripts/db), which it FAILS without.
#
# usage: reconcile_test.sh SCENARIO VZ_EVENTS VZ_EMULATOR SOURCE_DIR
#   branches  the event path is the oracle: from db/sample.sql as loaded, and from the handlers'
#             fixed point with a wrong value planted on a key of every branch each handler takes
#             there (both directions, and a crash moved back onto its main lane), a report finds
#             exactly the rows the events would write (count by branch, keys, old -> new) and
#             writes nothing (checksums); --fix then leaves exactly the table the events leave,
#             with the event's log line per written row; a second run finds nothing.  Also
#             --limit/--after, usage errors, the scheduled form (_HANDLER=reconcile, behind
#             vz-emulator as Lambda runs it; report-only by default, VZ_RECONCILE_FIX=1 fixes),
#             and the metrics of events and of the endpoint; every metric line is checked
#             against the EMF specification (tests/emf_check.py).
#   kill      a --fix run over 20,000 generated crashes with PostgreSQL SIGKILLed part-way: the run
#             stops with a summary and status 1, no row is half-written (a moved crash sits on its
#             service road's centroid), every row it logged as written is in the database, a
#             run resumed after its lastKey finishes the job (a whole rerun then fixes nothing more,
#             and a report finds no drift).  Then the scheduled function
#             with a 4 s timeout: answered in time, each handler scanned its share, incomplete.
#   edges     rows with negative keys (down to -2^31) are reported, fixed and resumed among; a page
#             whose every row fails stops the run with a message naming where that page began and
#             its keys; a report takes no row lock (a row locked elsewhere neither fails nor waits)
#             while --fix still does.
SCENARIO=${1:?usage: reconcile_test.sh branches|kill|edges VZ_EVENTS VZ_EMULATOR SOURCE_DIR}
VZ=$2
EMU=$3
SRC=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../check.sh"
tmp=$(mktemp -d /tmp/vz-reconcile.XXXXXX)
EMU_PID=
cleanup() {
    [ -n "$EMU_PID" ] && { kill -TERM "$EMU_PID" 2>/dev/null; wait "$EMU_PID" 2>/dev/null; }
    [ -n "$PG_STARTED" ] && { pg_pids | xargs -r kill -CONT 2>/dev/null; "$SRC/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; }
    if [ -n "${VZ_TEST_LOG_DIR:-}" ] && [ -d "$tmp" ]; then
        mkdir -p "$VZ_TEST_LOG_DIR/reconcile_$SCENARIO"
        cp "$tmp"/*.log "$VZ_TEST_LOG_DIR/reconcile_$SCENARIO/" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
finish() {
    echo "reconcile_$SCENARIO: $pass passed, $fails failed"
    test "$fails" -eq 0
}

# shellcheck source=../runtime/servers_lib.sh
. "$here/../runtime/servers_lib.sh"
start_pg
export DATABASE_URL AWS_LAMBDA_LOG_FORMAT=JSON
unset VZ_STAGE _HANDLER VZ_RECONCILE_HANDLERS VZ_RECONCILE_FIX

checksum() { q "SELECT md5(string_agg(c::text, '|' ORDER BY crash_id)) FROM atd_txdot_crashes c" && q "SELECT md5(string_agg(b::text, '|' ORDER BY case_id)) FROM atd_apd_blueform b"; }
emf() { python3 -B "$here/../emf_check.py" "$@" >"$tmp/emf.out" 2>&1 || { cat "$tmp/emf.out" >&2; return 1; }; }
# rec NAME HANDLER [OPTIONS...]: the JSON summary in $tmp/NAME.json, the log in $tmp/NAME.log, status in $tmp/NAME.rc
rec() {
    local n=$1
    shift
    "$VZ" reconcile "$@" --json >"$tmp/$n.json" 2>"$tmp/$n.log"
    echo $? >"$tmp/$n.rc"
}
jqt() { jq -e "$2" "$tmp/$1.json" >/dev/null; } # jqt NAME FILTER
rc_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
value() { q "SELECT coalesce($2::text, 'NULL') FROM $1"; }

HANDLERS="crash_update_location crash_update_noncr3_location crash_update_jurisdiction"
key_field() { [ "$1" = crash_update_noncr3_location ] && echo case_id || echo crash_id; }
table_of() { [ "$1" = crash_update_noncr3_location ] && echo atd_apd_blueform || echo atd_txdot_crashes; }
# What the handlers maintain, as one checksum (position included: a move rewrites it through the trigger).
state() {
    q "SELECT md5(string_agg((crash_id, location_id, latitude_primary, longitude_primary, austin_full_purpose,
                             ST_AsText(position))::text, '|' ORDER BY crash_id)) FROM atd_txdot_crashes"
    q "SELECT md5(string_agg((case_id, location_id)::text, '|' ORDER BY case_id)) FROM atd_apd_blueform"
}
load_sample() { psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -f "$SRC/db/sample.sql" >/dev/null; }
# events NAME HANDLER: the event path over every key of the handler's table, one record each, in one
# invocation; its log in $tmp/NAME.log, and what it wrote (as a reconcile summary has it) in $tmp/NAME.json
events() {
    local n=$1 h=$2 f k files=()
    f=$(key_field "$h")
    mkdir -p "$tmp/$n.bodies"
    for k in $(q "SELECT $f FROM $(table_of "$h") ORDER BY 1"); do
        printf '{"event":{"op":"UPDATE","data":{"new":{"%s":%s}}}}' "$f" "$k" >"$tmp/$n.bodies/$k.json"
        files+=("$tmp/$n.bodies/$k.json")
    done
    "$VZ" event --queue "atd-vz-data-events-${h}_t" "${files[@]}" >"$tmp/$n.event.json"
    "$VZ" invoke "$tmp/$n.event.json" >"$tmp/$n.answer.json" 2>"$tmp/$n.log"
    jq -s --arg h "$h" '[.[] | select(.handler == $h and .keyField != null)] as $rows
        | ($rows | map(select(.wrote == true)) | sort_by(.key)) as $w
        | {records: ($rows | length), drift: ($w | length),
           byBranch: ($w | group_by(.branch) | map({(.[0].branch): length}) | add // {}),
           sample: ($w[:10] | map({key, old, new, branch})),
           branches: ($rows | map({(.key | tostring): .branch}) | add // {})}' "$tmp/$n.log" >"$tmp/$n.json"
}
same() { # same A B FILTER: the filter gives the same JSON on both files
    [ "$(jq -cS "$3" "$tmp/$1.json")" = "$(jq -cS "$3" "$tmp/$2.json")" ] || {
        echo "  $1: $(jq -cS "$3" "$tmp/$1.json" | cut -c1-300)" >&2
        echo "  $2: $(jq -cS "$3" "$tmp/$2.json" | cut -c1-300)" >&2
        return 1
    }
}

# equivalence NAME HANDLER BUILD: from the state BUILD makes, a report finds exactly the rows the events
# would write (count by branch, keys, old -> new) and writes nothing; --fix then writes exactly what the
# events write, with the event's log line per row; and a second run finds nothing.
equivalence() {
    local n=$1 h=$2 build=$3 before after_events id="$1-$2"
    $build
    before=$(state)
    rec "$id-report" "$h"
    check "$n $h: report complete, nothing written" [ "$(state)" = "$before" ]
    check "$n $h: report status 0" rc_is "$id-report" 0
    check "$n $h: no row log line in a report" bash -c "! grep -q '\"wrote\":true' '$tmp/$id-report.log'"
    events "$id-events" "$h"
    after_events=$(state)
    check "$n $h: the events answered every record" jq -e '.batchItemFailures == []' "$tmp/$id-events.answer.json" >/dev/null
    check "$n $h: there is drift to find" jq -e '.drift > 0' "$tmp/$id-events.json" >/dev/null
    check "$n $h: drift = what the events write" same "$id-report" "$id-events" '.drift'
    check "$n $h: drift by branch = the events'" same "$id-report" "$id-events" '.byBranch'
    check "$n $h: keys, old -> new = the events'" same "$id-report" "$id-events" '.sample'
    check "$n $h: report's Drift metric (EMF)" emf "$tmp/$id-report.log" \
        "Drift{Handler=$h,Stage=local}=$(jq .drift "$tmp/$id-events.json")" "DriftFixed{Handler=$h}=0"
    $build
    rec "$id-fix" "$h" --fix --batch 4
    check "$n $h: --fix writes what the events write" [ "$(state)" = "$after_events" ]
    check "$n $h: fixed = drift" jq -e '.complete and .failed == 0 and .fixed == .drift' "$tmp/$id-fix.json" >/dev/null
    check "$n $h: fixed = the events' writes" same "$id-fix" "$id-events" '.drift'
    check "$n $h: the event's log line per written row" \
        [ "$(grep -c "\"handler\":\"$h\",\"key\":[0-9]*,\"keyField\":\"$(key_field "$h")\".*\"wrote\":true" "$tmp/$id-fix.log")" = "$(jq .drift "$tmp/$id-events.json")" ]
    check "$n $h: DriftFixed metric (EMF)" emf "$tmp/$id-fix.log" "DriftFixed{Handler=$h,Stage=local}=$(jq .drift "$tmp/$id-events.json")"
    rec "$id-second" "$h"
    check "$n $h: a second run finds nothing" jqt "$id-second" '.complete and .drift == 0 and .failed == 0'
}

# The fixed point of every handler, then a wrong value planted on a key of every branch each handler
# takes there (NULL -> value, value -> NULL, value -> another value), and a crash moved back onto its
# main lane (the service-road branch: location and coordinates).
fixed_point() {
    load_sample
    local h
    for h in $HANDLERS; do "$VZ" reconcile "$h" --fix >/dev/null 2>&1; done
}
plant() {
    fixed_point
    q "UPDATE atd_txdot_crashes SET location_id = NULL, latitude_primary = 30.2765, longitude_primary = -97.7300
        WHERE crash_id = 6" >/dev/null
    local h k col other=0
    for h in $HANDLERS; do
        col=location_id
        [ "$h" = crash_update_jurisdiction ] && col=austin_full_purpose
        for k in $(jq -r '.branches | to_entries | group_by(.value) | map(min_by(.key | tonumber).key) | .[]' "$tmp/fixed-$h.json"); do
            [ "$h" != crash_update_noncr3_location ] && [ "$k" = 6 ] && continue
            if [ "$col" = austin_full_purpose ]; then
                # triggers off for this one statement: the no-position trigger would set the flag back
                q "SET session_replication_role = replica;
                   UPDATE atd_txdot_crashes SET austin_full_purpose = CASE austin_full_purpose WHEN 'Y' THEN 'N' ELSE 'Y' END
                    WHERE crash_id = $k" >/dev/null
            elif [ $other = 0 ] && [ "$(q "SELECT location_id IS NOT NULL FROM $(table_of "$h") WHERE $(key_field "$h") = $k")" = t ]; then
                q "UPDATE $(table_of "$h") SET location_id = CASE location_id WHEN 'INT-AB' THEN 'INT-1' ELSE 'INT-AB' END
                    WHERE $(key_field "$h") = $k" >/dev/null
                other=1
            else
                q "UPDATE $(table_of "$h") SET location_id = CASE WHEN location_id IS NULL THEN 'INT-1' END
                    WHERE $(key_field "$h") = $k" >/dev/null
            fi
        done
    done
    q "UPDATE atd_txdot_crashes SET austin_full_purpose = NULL WHERE crash_id = 3" >/dev/null
}

status_of() { "$@" >/dev/null 2>&1; echo $?; }

scenario_branches() {
    # -- the command line: usage errors are status 2 and say why.
    check "usage: no handler" [ "$(status_of "$VZ" reconcile)" = 2 ]
    check "usage: unknown handler" [ "$(status_of "$VZ" reconcile nosuch)" = 2 ]
    check "usage: a handler without a row rule" [ "$("$VZ" reconcile example 2>&1 >/dev/null)" = "vz-events reconcile: handler example has no row rule to run over a table" ]
    check "usage: --batch 0" [ "$(status_of "$VZ" reconcile crash_update_location --batch 0)" = 2 ]
    check "usage: dlq without a queue" [ "$(env -u VZ_STAGE "$VZ" dlq list 2>&1 >/dev/null | head -1)" = "vz-events dlq: say which dead-letter queue: --stage S (or VZ_STAGE), or --queue NAME" ]
    check "usage: dlq without a verb" [ "$(status_of "$VZ" dlq --stage x)" = 2 ]

    # -- db/sample.sql as loaded: its drift (both directions) is what the events would write.
    local h b
    for h in $HANDLERS; do
        equivalence sample "$h" load_sample
    done
    # -- the branches each handler takes at its fixed point, then drift planted on every one of them.
    fixed_point
    for h in $HANDLERS; do
        events "fixed-$h" "$h"
        check "fixed point $h: the events write nothing" jq -e '.drift == 0 and .records > 0' "$tmp/fixed-$h.json" >/dev/null
    done
    for h in $HANDLERS; do
        equivalence planted "$h" plant
        for b in $(jq -r '.branches | [.[]] | unique | .[]' "$tmp/fixed-$h.json"); do
            local k
            k=$(jq -r --arg b "$b" '.branches | to_entries | map(select(.value == $b)) | min_by(.key | tonumber).key' "$tmp/fixed-$h.json")
            check "planted $h: drift found on branch $b (key $k)" \
                jq -e --argjson k "$k" '[.sample[].key] | index($k) != null' "$tmp/planted-$h-report.json" >/dev/null
        done
    done
    check "planted: the service-road move is drift" jq -e '.byBranch.service_road >= 1' "$tmp/planted-crash_update_location-report.json" >/dev/null

    # -- --limit and --after: part of the table, then the rest.
    plant
    rec all crash_update_location
    rec part crash_update_location --limit 3 --batch 2
    check "--limit: 3 rows scanned" jqt part '.scanned == 3 and .lastKey == 3 and (.complete | not)'
    rec rest crash_update_location --after 3
    check "--after: the rest" jqt rest ".complete and .scanned == $(jq '.scanned - 3' "$tmp/all.json")"
    check "--limit + --after: the whole drift" [ "$(($(jq .drift "$tmp/part.json") + $(jq .drift "$tmp/rest.json")))" = "$(jq .drift "$tmp/all.json")" ]

    # -- the scheduled function, as Lambda runs it (vz-emulator), report-only by default.
    local before
    before=$(state)
    printf '%s' '{"version":"0","id":"e-1","detail-type":"Scheduled Event","source":"aws.events","account":"000000000000","time":"2026-12-01T03:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:000000000000:rule/vz-reconcile"],"detail":{}}' >"$tmp/scheduled.json"
    VZ_STAGE=pr_7 _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,crash_update_noncr3_location,crash_update_jurisdiction \
        "$EMU" --port 0 --port-file "$tmp/ports" --timeout 60 -- "$VZ" >"$tmp/emu.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 400); do [ -s "$tmp/ports" ] && break; sleep 0.05; done
    local port d1 d2 d3
    read -r port _ <"$tmp/ports"
    curl -s --noproxy '*' --max-time 60 -o "$tmp/sched1.json" -d @"$tmp/scheduled.json" "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
    d1=$(jq .drift "$tmp/planted-crash_update_location-events.json")
    d2=$(jq .drift "$tmp/planted-crash_update_noncr3_location-events.json")
    d3=$(jq .drift "$tmp/planted-crash_update_jurisdiction-events.json")
    check "scheduled: a JSON summary of the three" jqt sched1 ".mode == \"report\" and .complete and ([.handlers[].drift] == [$d1,$d2,$d3])"
    check "scheduled: report-only wrote nothing" [ "$(state)" = "$before" ]
    kill -TERM "$EMU_PID"
    wait "$EMU_PID"
    EMU_PID=
    check "scheduled: Drift metrics by handler and stage" emf "$tmp/emu.log" "Drift{Handler=crash_update_location,Stage=pr_7}=$d1" "Drift{Handler=crash_update_noncr3_location,Stage=pr_7}=$d2" "Drift{Handler=crash_update_jurisdiction,Stage=pr_7}=$d3" 'DriftFixed{Stage=pr_7}=0'
    VZ_STAGE=pr_7 _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,crash_update_noncr3_location,crash_update_jurisdiction VZ_RECONCILE_FIX=1 \
        "$VZ" invoke "$tmp/scheduled.json" >"$tmp/sched2.json" 2>"$tmp/sched2.log"
    check "scheduled with VZ_RECONCILE_FIX=1: fixed" jqt sched2 ".mode == \"fix\" and ([.handlers[].fixed] == [$d1,$d2,$d3])"
    check "scheduled fix: DriftFixed metrics" emf "$tmp/sched2.log" "DriftFixed{Stage=pr_7}=$((d1 + d2 + d3))"
    for h in $HANDLERS; do
        rec after "$h"
        check "scheduled fix: nothing left ($h)" jqt after '.drift == 0'
    done
    _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,example "$VZ" invoke "$tmp/scheduled.json" >"$tmp/sched3.json" 2>"$tmp/sched3.log"
    check "scheduled: a handler without a rule is a configuration error" jqt sched3 '.errorType == "Runtime.InvalidConfiguration"'

    # -- the processing metrics of events: written, then unchanged, and a failed record.
    local k
    for k in 1 9; do
        printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":%s}}}}' "$k" >"$tmp/body$k.json"
    done
    printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":"x"}}}}' >"$tmp/bodybad.json"
    q "UPDATE atd_txdot_crashes SET location_id = CASE WHEN location_id IS NULL THEN 'INT-AB' END WHERE crash_id IN (1, 9)" >/dev/null
    "$VZ" event --queue atd-vz-data-events-crash_update_location_pr_7 "$tmp/body1.json" "$tmp/body9.json" "$tmp/bodybad.json" >"$tmp/ev.json"
    VZ_STAGE=pr_7 "$VZ" invoke "$tmp/ev.json" >/dev/null 2>"$tmp/ev1.log"
    VZ_STAGE=pr_7 "$VZ" invoke "$tmp/ev.json" >/dev/null 2>"$tmp/ev2.log"
    check "events: written 2, failed 1 (EMF)" emf "$tmp/ev1.log" 'RecordsWritten{Handler=crash_update_location,Stage=pr_7}=2' 'RecordsUnchanged{Handler=crash_update_location}=0' 'RecordsSucceeded{Handler=crash_update_location}=2' 'RecordsFailed{Handler=crash_update_location}=1' 'RecordsSkipped{Handler=crash_update_location}=0'
    check "events again: unchanged 2 (EMF)" emf "$tmp/ev2.log" 'RecordsWritten{Handler=crash_update_location}=0' 'RecordsUnchanged{Handler=crash_update_location,Stage=pr_7}=2'
    check "events: BatchDuration present" grep -q '"BatchDuration":' "$tmp/ev1.log"
    AWS_LAMBDA_LOG_FORMAT=Text VZ_STAGE=pr_7 "$VZ" invoke "$tmp/ev.json" >/dev/null 2>"$tmp/ev3.log"
    check "TEXT format: the same EMF object on a line of its own" emf "$tmp/ev3.log" 'RecordsUnchanged{Handler=crash_update_location,Stage=pr_7}=2'
    check "TEXT format: other lines stay text" grep -qv '^{' "$tmp/ev3.log"

    # -- the endpoint's Requests metric: a rotated key (403) still names its trigger's handler.
    local name
    for name in crash_update_location_pr_7 no_such_handler_pr_7; do
        printf '{"version":"2.0","rawPath":"/events/","requestContext":{"http":{"method":"POST","path":"/events/"}},"headers":{"hasura_event_api":"old-key","hasura_event_name":"%s"},"body":"{}","isBase64Encoded":false}' "$name" >"$tmp/http-$name.json"
        HASURA_EVENT_API=new-key VZ_STAGE=production "$VZ" invoke "$tmp/http-$name.json" >"$tmp/http-$name.out" 2>>"$tmp/http.log"
    done
    check "endpoint: 403 answered" jq -e '.statusCode == 403' "$tmp/http-crash_update_location_pr_7.out" >/dev/null
    check "endpoint: Requests by Status and EventName (EMF)" emf "$tmp/http.log" 'Requests{Stage=production,Status=403}=2' 'Requests{Stage=production,EventName=crash_update_location}=1' 'Requests{Stage=production,EventName=unknown}=1'
}

scenario_kill() {
    "$SRC/scripts/gen-data" --grid 20 --crashes 20000 --reports 0 >"$tmp/gen.log" 2>&1 || { echo "FAIL: gen-data" >&2; cat "$tmp/gen.log" >&2; exit 1; }
    local total
    total=$(q "SELECT count(*) FROM atd_txdot_crashes")
    q "CREATE TABLE snap AS SELECT crash_id, location_id, latitude_primary AS lat, longitude_primary AS lon FROM atd_txdot_crashes" >/dev/null
    "$VZ" reconcile crash_update_location --fix --batch 50 --json >"$tmp/run1.json" 2>"$tmp/run1.log" &
    local pid=$! n=0
    for _ in $(seq 600); do
        n=$(grep -c '"wrote":true' "$tmp/run1.log" 2>/dev/null)
        [ "${n:-0}" -ge 400 ] && break
        sleep 0.05
    done
    check "kill: the run was writing before the kill" [ "${n:-0}" -ge 400 ]
    kill_cluster
    wait "$pid"
    local rc=$?
    check "kill: the run stops with status 1" [ "$rc" = 1 ]
    check "kill: it ends with a summary, incomplete" jq -e '(.complete | not) and .stopped != null and .scanned < '"$total" "$tmp/run1.json"
    # its lastKey (where --after resumes) is before every row it could not do.  The kill lands
    # either in a page's row work (rows failed) or in the query for the next page of keys (no row
    # of it ran, failed stays 0): either way the run stops on the database, with a lastKey, and
    # the resume below shows that nothing before it was left undone.
    check "kill: lastKey is before the first failed row, and the stop names the database" \
        jq -e '.lastKey != null and (.stopped | test("database"))' "$tmp/run1.json"
    "$SRC/scripts/db" start "$tmp/pg" >/dev/null 2>"$tmp/pg2.err" || { echo "FAIL: PostgreSQL did not restart" >&2; cat "$tmp/pg2.err" >&2; exit 1; }
    # nothing half-written: a crash whose coordinates changed was moved, in the same UPDATE, onto the
    # centroid of the service-road location it now has
    check "kill: some crashes were moved before the kill" [ "$(q "SELECT count(*) FROM atd_txdot_crashes c JOIN snap s USING (crash_id)
        WHERE (c.latitude_primary, c.longitude_primary) IS DISTINCT FROM (s.lat, s.lon)")" -gt 0 ]
    check "kill: no half-written row" [ "$(q "SELECT count(*) FROM atd_txdot_crashes c JOIN snap s USING (crash_id)
        LEFT JOIN atd_txdot_locations l ON l.location_id = c.location_id
        WHERE (c.latitude_primary, c.longitude_primary) IS DISTINCT FROM (s.lat, s.lon)
          AND NOT (l.description ILIKE '%SVRD%' AND c.latitude_primary = ST_Y(ST_Centroid(l.shape))
                   AND c.longitude_primary = ST_X(ST_Centroid(l.shape)))")" = 0 ]
    # every row the run logged as written is in the database (each row commits synchronously)
    grep '"wrote":true' "$tmp/run1.log" | jq -r '"\(.key) \(.new // "NULL")"' | sort >"$tmp/logged"
    q "SELECT crash_id || ' ' || coalesce(location_id, 'NULL') FROM atd_txdot_crashes" | sort >"$tmp/stored"
    check "kill: every logged write is stored" [ -z "$(comm -23 "$tmp/logged" "$tmp/stored")" ]
    rec resumed crash_update_location --fix --batch 500 --after "$(jq .lastKey "$tmp/run1.json")"
    check "kill: resuming after lastKey finishes the table" jqt resumed '.complete and .failed == 0 and .fixed > 0'
    rec run2 crash_update_location --fix --batch 500
    check "kill: the rerun finishes the job" jqt run2 '.complete and .failed == 0 and .scanned == '"$total"
    check "kill: nothing was skipped by resuming: a whole rerun fixes nothing more" jqt run2 '.fixed == 0'
    rec run3 crash_update_location
    check "kill: afterwards no drift" jqt run3 '.complete and .drift == 0'

    # -- the scheduled function with too little time for its tables: it answers before its
    # deadline, every handler got a share of the time, and the summary says the run is incomplete.
    printf '{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}' >"$tmp/scheduled.json"
    _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,crash_update_jurisdiction \
        "$EMU" --port 0 --port-file "$tmp/ports" --timeout 4 -- "$VZ" >"$tmp/emu.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 400); do [ -s "$tmp/ports" ] && break; sleep 0.05; done
    local port
    read -r port _ <"$tmp/ports"
    curl -s --noproxy '*' --max-time 60 -o "$tmp/short.json" -D "$tmp/short.hdr" -d @"$tmp/scheduled.json" \
        "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
    kill -TERM "$EMU_PID"
    wait "$EMU_PID"
    EMU_PID=
    check "short deadline: answered, no function error" bash -c "! grep -qi '^X-Amz-Function-Error' '$tmp/short.hdr'"
    check "short deadline: incomplete, each handler scanned a share" \
        jq -e '(.complete | not) and ([.handlers[] | (.complete | not) and .scanned > 0 and (.stopped | test("deadline"))] | all)' "$tmp/short.json" >/dev/null
}

scenario_edges() {
    load_sample
    local h=crash_update_jurisdiction flip="CASE austin_full_purpose WHEN 'Y' THEN 'N' ELSE 'Y' END"
    rec first "$h" --fix
    check "edges: the sample brought to the rule's fixed point" jqt first '.complete and .failed == 0'

    # -- Rows with negative keys are in every run: found, fixed, and --after resumes among them.
    q "INSERT INTO atd_txdot_crashes (crash_id, latitude_primary, longitude_primary, city_id, austin_full_purpose)
       SELECT k, latitude_primary, longitude_primary, city_id, $flip FROM atd_txdot_crashes,
              (VALUES (-2147483648, 1), (-7, 13)) AS v(k, copy) WHERE crash_id = v.copy" >/dev/null
    local rows
    rows=$(q "SELECT count(*) FROM atd_txdot_crashes")
    rec neg "$h"
    check "edges: a report scans every row, negative keys too ($rows)" jqt neg ".complete and .scanned == $rows and .rows == $rows"
    check "edges: it finds the two negative keys' drift" jqt neg '.drift == 2 and ([.sample[].key] == [-2147483648, -7])'
    rec negafter "$h" --after -2147483648
    check "edges: --after the lowest key resumes among the negative ones" jqt negafter ".scanned == $((rows - 1)) and .drift == 1"
    rec negfix "$h" --fix
    check "edges: --fix writes them" jqt negfix '.fixed == 2'
    check "edges: each as its twin with a positive key" test "$(q "SELECT string_agg(austin_full_purpose::text, '' ORDER BY crash_id)
        FROM atd_txdot_crashes WHERE crash_id IN (-2147483648, -7, 1, 13)")" = "$(q "SELECT string_agg(austin_full_purpose::text, '' ORDER BY o)
        FROM atd_txdot_crashes, (VALUES (1, 1), (2, 13), (3, 1), (4, 13)) AS v(o, k) WHERE crash_id = v.k")"
    rec negstopped "$h" --limit 1
    check "edges: a run stopped after a negative key says where to resume" \
        jqt negstopped '.lastKey == -2147483648 and (.complete | not)'
    check "edges: and prints it" bash -c "'$VZ' reconcile $h --limit 1 | grep -qx '  resume with: --after -2147483648'"

    # -- Every row of a page fails: the stop message names where that page began and its keys.  The
    # page (--batch 3): the first after the first whose three crashes have a position (without one,
    # the crashes' trigger may put the flag back, so no drift could be planted).
    local keys placed p=1 a b c before
    mapfile -t keys < <(q "SELECT crash_id FROM atd_txdot_crashes ORDER BY 1")
    mapfile -t placed < <(q "SELECT (position IS NOT NULL)::int FROM atd_txdot_crashes ORDER BY crash_id")
    while [ $((3 * p + 2)) -lt "${#keys[@]}" ] &&
        [ "${placed[3 * p]}${placed[3 * p + 1]}${placed[3 * p + 2]}" != 111 ]; do p=$((p + 1)); done
    before=${keys[3 * p - 1]} a=${keys[3 * p]} b=${keys[3 * p + 1]} c=${keys[3 * p + 2]}
    q "UPDATE atd_txdot_crashes SET austin_full_purpose = $flip WHERE crash_id IN ($a, $b, $c)" >/dev/null
    q "CREATE FUNCTION vz_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'refused by the test'; END \$\$;
       CREATE TRIGGER zz_vz_test_refuse BEFORE UPDATE ON atd_txdot_crashes FOR EACH ROW
         WHEN (OLD.crash_id IN ($a, $b, $c)) EXECUTE FUNCTION vz_test_refuse()" >/dev/null
    rec stop "$h" --batch 3
    check "edges: a page that failed whole stops the run (status 1)" rc_is stop 1
    check "edges: the message names where the page began (after key $before) and its keys ($a to $c)" \
        jqt stop ".stopped | startswith(\"every row of the page after key $before (keys $a to $c) failed: \")"
    check "edges: and lastKey resumes at that page" jqt stop ".lastKey == $before"
    q "DROP TRIGGER zz_vz_test_refuse ON atd_txdot_crashes" >/dev/null
    rec stop1 "$h" --batch 3 --after "$before"
    check "edges: resumed there, the page's rows are found" jqt stop1 '.drift == 3'

    # -- A report takes no row lock: a row without drift locked by another transaction neither fails nor
    # holds it up (lock_timeout 1 s: a report that waited for the lock would fail that row).
    psql "$DATABASE_URL" -Xq -c "BEGIN" -c "SELECT 1 FROM atd_txdot_crashes WHERE crash_id = $before FOR UPDATE" \
        -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
    local holder=$! i
    for i in $(seq 200); do
        [ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                 WHERE c.relname = 'atd_txdot_crashes' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()")" -gt 0 ] && break
        sleep 0.05
    done
    PGOPTIONS='-c lock_timeout=1000' rec locked "$h"
    check "edges: a report reads past a locked row" jqt locked '.complete and .failed == 0 and .drift == 3'
    PGOPTIONS='-c lock_timeout=1000' rec lockedfix "$h" --fix
    check "edges: --fix still locks (the locked row waits, then fails alone)" jqt lockedfix '.failed == 1 and .fixed == 3'
    q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" >/dev/null
    wait "$holder" 2>/dev/null
}

case "$SCENARIO" in
branches) scenario_branches ;;
edges) scenario_edges ;;
kill) scenario_kill ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
finish
