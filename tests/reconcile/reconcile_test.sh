#!/usr/bin/env bash
# reconcile_test.sh -- `vz-events reconcile` and the scheduled reconcile function against a real
# PostgreSQL + PostGIS: a throwaway cluster of its own (scripts/db), which it FAILS without.
#
# usage: reconcile_test.sh SCENARIO VZ_EVENTS VZ_EMULATOR SOURCE_DIR
#   branches  db/sample.sql's drift, then drift planted in both directions on every branch of the
#             three handlers: a report finds exactly it (count by branch, keys, old -> new) and
#             writes nothing (table checksums); --fix writes exactly what the events write, with the
#             event's log line per written row; a second run finds nothing.  The scheduled form
#             (_HANDLER=reconcile, behind vz-emulator as Lambda runs it) answers its JSON summary and
#             emits Drift/DriftFixed; report-only by default.  The processing metrics of events
#             (RecordsWritten, RecordsUnchanged, RecordsFailed) are checked too.  Every metric line is
#             checked against the EMF specification (tests/emf_check.py).
#   kill      a --fix run over 20,000 generated crashes with PostgreSQL SIGKILLed part-way: the run
#             stops with a summary and status 1, no row is half-written (a moved crash sits on its
#             service road's centroid), every row it logged as written is in the database, and a
#             rerun finishes the job (then a report finds no drift).
SCENARIO=${1:?usage: reconcile_test.sh branches|kill VZ_EVENTS VZ_EMULATOR SOURCE_DIR}
VZ=$2
EMU=$3
SRC=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../check.sh"
tmp=$(mktemp -d /tmp/vz-reconcile.XXXXXX)
PG_STARTED=
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

if ! "$SRC/scripts/db" start "$tmp/pg" >"$tmp/pg.env" 2>"$tmp/pg.err"; then
    echo "FAIL: PostgreSQL did not start" >&2
    cat "$tmp/pg.err" >&2
    exit 1
fi
PG_STARTED=1
# shellcheck disable=SC1091
. "$tmp/pg.env"
export DATABASE_URL AWS_LAMBDA_LOG_FORMAT=JSON
unset VZ_STAGE _HANDLER VZ_RECONCILE_HANDLERS VZ_RECONCILE_FIX

pg_pids() {
    local pm
    pm=$(head -1 "$tmp/pg/data/postmaster.pid" 2>/dev/null) || return 0
    [ -n "$pm" ] || return 0
    echo "$pm"
    ps -o pid= --ppid "$pm" 2>/dev/null | tr -d ' '
}
q() { psql "$DATABASE_URL" -XAtq -c "$1"; }
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

# The values the three handlers' events give db/sample.sql (tests/it_handlers.c has the same table).
loc_want='1:INT-1 2:NULL 3:NULL 4:NULL 5:SVRD-A-E1 6:SVRD-A-W 7:SVRD-B-S 8:SVRD-B-N 9:NULL 10:NULL 11:NULL 12:NULL 13:NULL 14:NULL 15:SVRD-A-E1 16:NULL 17:NULL'
noncr3_want='101:INT-1 102:NULL 103:NULL 104:NULL 105:SVRD-A-E1 106:NULL'
locations_are_events() {
    local got
    got=$(q "SELECT string_agg(crash_id || ':' || coalesce(location_id, 'NULL'), ' ' ORDER BY crash_id) FROM atd_txdot_crashes")
    [ "$got" = "$loc_want" ] || { echo "locations: $got" >&2; return 1; }
    got=$(q "SELECT string_agg(case_id || ':' || coalesce(location_id, 'NULL'), ' ' ORDER BY case_id) FROM atd_apd_blueform")
    [ "$got" = "$noncr3_want" ] || { echo "non-CR3 locations: $got" >&2; return 1; }
    # the moved crashes sit exactly on their service road's centroid, position included
    [ "$(q "SELECT count(*) FROM atd_txdot_crashes c JOIN atd_txdot_locations l USING (location_id)
            WHERE c.crash_id IN (5, 6, 7, 8, 15) AND c.latitude_primary = ST_Y(ST_Centroid(l.shape))
              AND c.longitude_primary = ST_X(ST_Centroid(l.shape)) AND ST_Equals(c.position, ST_Centroid(l.shape))")" = 5 ]
}
flags_are_events() {
    local got
    got=$(q "SELECT string_agg(crash_id || ':' || coalesce(austin_full_purpose, 'NULL'), ' ' ORDER BY crash_id) FROM atd_txdot_crashes")
    [ "$got" = "1:Y 2:Y 3:Y 4:N 5:Y 6:Y 7:Y 8:Y 9:Y 10:Y 11:Y 12:Y 13:N 14:Y 15:Y 16:Y 17:N" ] || { echo "flags: $got" >&2; return 1; }
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

    # -- db/sample.sql as loaded: its drift is what the events would write.
    local before
    before=$(checksum)
    rec loc0 crash_update_location
    check "report: location drift by branch" jqt loc0 '.complete and .scanned == 17 and .drift == 16 and .fixed == 0 and .failed == 0
        and .byBranch == {"intersection":1,"no_location":4,"service_road":5,"main_lane":6}'
    check "report: sample with old -> new" jqt loc0 '.sample[] | select(.key == 5) | .old == null and .new == "SVRD-A-E1" and .branch == "service_road"'
    check "report: sample, the other direction" jqt loc0 '.sample[] | select(.key == 2) | .old == "INT-1" and .new == null and .branch == "no_location"'
    rec ncr0 crash_update_noncr3_location
    check "report: non-CR3 drift by branch" jqt ncr0 '.drift == 5 and .byBranch == {"intersection":2,"main_lane":1,"no_location":2}'
    rec jur0 crash_update_jurisdiction
    check "report: jurisdiction drift by branch" jqt jur0 '.drift == 16 and .byBranch == {"full_purpose":13,"outside_full_purpose":3}'
    check "report: status 0" rc_is loc0 0
    check "report: nothing written" [ "$(checksum)" = "$before" ]
    check "report: no row log line (nothing written)" bash -c "! grep -q '\"wrote\":true' '$tmp/loc0.log'"
    check "report: Drift metric, valid EMF" emf "$tmp/loc0.log" 'Drift{Handler=crash_update_location,Stage=local}=16' 'DriftFixed{Handler=crash_update_location}=0'
    rec again crash_update_location
    check "report twice: the same drift" jqt again '.drift == 16'

    # -- --fix writes what the events write, with the event's log line per written row.
    rec loc1 crash_update_location --fix --batch 4
    check "fix: location fixed 16" jqt loc1 '.complete and .drift == 16 and .fixed == 16 and .failed == 0'
    check "fix: a log line per written row" [ "$(grep -c '"wrote":true' "$tmp/loc1.log")" = 16 ]
    check "fix: the event's log line" grep -q '"handler":"crash_update_location","key":5,"keyField":"crash_id","field":"location_id","old":null,"new":"SVRD-A-E1","wrote":true,"branch":"service_road"' "$tmp/loc1.log"
    check "fix: DriftFixed metric" emf "$tmp/loc1.log" 'DriftFixed{Handler=crash_update_location,Stage=local}=16'
    rec ncr1 crash_update_noncr3_location --fix
    rec jur1 crash_update_jurisdiction --fix --batch 1
    check "fix: non-CR3 and jurisdiction" jqt ncr1 '.fixed == 5'
    check "fix: jurisdiction fixed 16" jqt jur1 '.fixed == 16'
    check "fix: the values the events give" locations_are_events
    check "fix: the flags the events give" flags_are_events
    for h in crash_update_location crash_update_noncr3_location crash_update_jurisdiction; do
        rec second "$h"
        check "second run: no drift ($h)" jqt second '.complete and .drift == 0 and .failed == 0'
    done

    # -- drift planted in both directions (value -> other, value -> NULL, NULL -> value) on every branch.
    q "UPDATE atd_txdot_crashes SET location_id = NULL WHERE crash_id = 1;           -- intersection: NULL -> INT-1
       UPDATE atd_txdot_crashes SET location_id = 'INT-1' WHERE crash_id = 9;        -- main lane: INT-1 -> NULL
       UPDATE atd_txdot_crashes SET location_id = 'INT-1' WHERE crash_id = 5;        -- on its centroid: INT-1 -> SVRD-A-E1
       UPDATE atd_txdot_crashes SET location_id = 'SVRD-B-N' WHERE crash_id = 7;     -- on its centroid: other -> SVRD-B-S
       UPDATE atd_txdot_crashes SET location_id = 'INT-1' WHERE crash_id = 2;        -- no location: INT-1 -> NULL
       -- service road: back on the main lane, no location -> SVRD-A-W, and moved to its centroid again
       UPDATE atd_txdot_crashes SET location_id = NULL, latitude_primary = 30.2765, longitude_primary = -97.7300 WHERE crash_id = 6;
       UPDATE atd_apd_blueform SET location_id = NULL WHERE case_id = 101;           -- intersection
       UPDATE atd_apd_blueform SET location_id = 'INT-1' WHERE case_id = 102;        -- main lane
       UPDATE atd_apd_blueform SET location_id = 'SVRD-A-E1' WHERE case_id = 104;    -- no location
       UPDATE atd_txdot_crashes SET austin_full_purpose = 'N' WHERE crash_id = 1;    -- full purpose: N -> Y
       UPDATE atd_txdot_crashes SET austin_full_purpose = NULL WHERE crash_id = 3;   -- full purpose: NULL -> Y
       UPDATE atd_txdot_crashes SET austin_full_purpose = 'Y' WHERE crash_id = 13;   -- outside: Y -> N" >/dev/null
    before=$(checksum)
    rec loc2 crash_update_location
    check "planted: location drift by branch" jqt loc2 '.drift == 6 and .byBranch == {"intersection":3,"no_location":1,"service_road":1,"main_lane":1}'
    check "planted: keys and old -> new" jqt loc2 '[.sample[] | "\(.key):\(.old)->\(.new)"] == ["1:null->INT-1","2:INT-1->null","5:INT-1->SVRD-A-E1","6:null->SVRD-A-W","7:SVRD-B-N->SVRD-B-S","9:INT-1->null"]'
    rec ncr2 crash_update_noncr3_location
    check "planted: non-CR3 drift by branch" jqt ncr2 '.drift == 3 and .byBranch == {"intersection":1,"main_lane":1,"no_location":1}'
    check "planted: non-CR3 keys" jqt ncr2 '[.sample[] | "\(.key):\(.old)->\(.new)"] == ["101:null->INT-1","102:INT-1->null","104:SVRD-A-E1->null"]'
    rec jur2 crash_update_jurisdiction
    check "planted: jurisdiction drift by branch" jqt jur2 '.drift == 3 and .byBranch == {"full_purpose":2,"outside_full_purpose":1}'
    check "planted: jurisdiction keys" jqt jur2 '[.sample[] | "\(.key):\(.old)->\(.new)"] == ["1:N->Y","3:null->Y","13:Y->N"]'
    check "planted: the report wrote nothing" [ "$(checksum)" = "$before" ]
    rec part crash_update_location --limit 3 --batch 2
    check "--limit: 3 rows scanned" jqt part '.scanned == 3 and .lastKey == 3 and (.complete | not) and .drift == 2'
    rec rest crash_update_location --after 3
    check "--after: the rest" jqt rest '.scanned == 14 and .drift == 4 and .complete'

    # -- the scheduled function, as Lambda runs it (vz-emulator), report-only by default.
    printf '%s' '{"version":"0","id":"e-1","detail-type":"Scheduled Event","source":"aws.events","account":"000000000000","time":"2026-12-01T03:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:000000000000:rule/vz-reconcile"],"detail":{}}' >"$tmp/scheduled.json"
    VZ_STAGE=pr_7 _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,crash_update_noncr3_location,crash_update_jurisdiction \
        "$EMU" --port 0 --port-file "$tmp/ports" --timeout 60 -- "$VZ" >"$tmp/emu.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 400); do [ -s "$tmp/ports" ] && break; sleep 0.05; done
    local port
    read -r port _ <"$tmp/ports"
    curl -s --noproxy '*' --max-time 60 -o "$tmp/sched1.json" -d @"$tmp/scheduled.json" "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
    check "scheduled: a JSON summary of the three" jqt sched1 '.mode == "report" and .complete and ([.handlers[].drift] == [6,3,3])'
    check "scheduled: report-only wrote nothing" [ "$(checksum)" = "$before" ]
    kill -TERM "$EMU_PID"
    wait "$EMU_PID"
    EMU_PID=
    check "scheduled: Drift metrics by handler and stage" emf "$tmp/emu.log" 'Drift{Handler=crash_update_location,Stage=pr_7}=6' 'Drift{Handler=crash_update_noncr3_location,Stage=pr_7}=3' 'Drift{Handler=crash_update_jurisdiction,Stage=pr_7}=3' 'DriftFixed{Stage=pr_7}=0'
    VZ_STAGE=pr_7 _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,crash_update_noncr3_location,crash_update_jurisdiction VZ_RECONCILE_FIX=1 \
        "$VZ" invoke "$tmp/scheduled.json" >"$tmp/sched2.json" 2>"$tmp/sched2.log"
    check "scheduled with VZ_RECONCILE_FIX=1: fixed" jqt sched2 '.mode == "fix" and ([.handlers[].fixed] == [6,3,3])'
    check "scheduled fix: DriftFixed metrics" emf "$tmp/sched2.log" 'DriftFixed{Stage=pr_7}=12'
    check "scheduled fix: the values the events give" locations_are_events
    check "scheduled fix: the flags the events give" flags_are_events
    _HANDLER=reconcile VZ_RECONCILE_HANDLERS=crash_update_location,example "$VZ" invoke "$tmp/scheduled.json" >"$tmp/sched3.json" 2>"$tmp/sched3.log"
    check "scheduled: a handler without a rule is a configuration error" jqt sched3 '.errorType == "Runtime.InvalidConfiguration"'

    # -- the processing metrics of events: written, then unchanged, and a failed record.
    local bodies=() k
    for k in 5 3; do
        printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":%s}}}}' "$k" >"$tmp/body$k.json"
    done
    printf '{"event":{"op":"UPDATE","data":{"new":{"crash_id":"x"}}}}' >"$tmp/bodybad.json"
    q "UPDATE atd_txdot_crashes SET location_id = 'INT-1' WHERE crash_id IN (5, 3)" >/dev/null
    "$VZ" event --queue atd-vz-data-events-crash_update_location_pr_7 "$tmp/body5.json" "$tmp/body3.json" "$tmp/bodybad.json" >"$tmp/ev.json"
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
    local pids
    pids=$(pg_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL $pids
    for _ in $(seq 100); do
        # shellcheck disable=SC2086
        kill -0 $pids 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid"
    local rc=$?
    check "kill: the run stops with status 1" [ "$rc" = 1 ]
    check "kill: it ends with a summary, incomplete" jq -e '(.complete | not) and .stopped != null and .scanned < '"$total" "$tmp/run1.json"
    "$SRC/scripts/db" start "$tmp/pg" >/dev/null 2>"$tmp/pg2.err" || { echo "FAIL: PostgreSQL did not restart" >&2; cat "$tmp/pg2.err" >&2; exit 1; }
    # nothing half-written: a crash whose coordinates changed was moved, in the same UPDATE, onto the
    # centroid of the service-road location it now has
    check "kill: some crashes were moved before the kill" [ "$(q "SELECT count(*) FROM atd_txdot_crashes c JOIN snap s USING (crash_id)
        WHERE (c.latitude_primary, c.longitude_primary) IS DISTINCT FROM (s.lat, s.lon)")" -gt 0 ]
    check "kill: no half-written row" [ "$(q "SELECT count(*) FROM atd_txdot_crashes c JOIN snap s USING (crash_id)
        LEFT JOIN atd_txdot_locations l ON l.location_id = c.location_id
        WHERE (c.latitude_primary, c.longitude_primary) IS DISTINCT FROM (s.lat, s.lon)
          AND NOT (l.description LIKE '%SVRD%' AND c.latitude_primary = ST_Y(ST_Centroid(l.shape))
                   AND c.longitude_primary = ST_X(ST_Centroid(l.shape)))")" = 0 ]
    # every row the run logged as written is in the database (each row commits synchronously)
    grep '"wrote":true' "$tmp/run1.log" | jq -r '"\(.key) \(.new // "NULL")"' | sort >"$tmp/logged"
    q "SELECT crash_id || ' ' || coalesce(location_id, 'NULL') FROM atd_txdot_crashes" | sort >"$tmp/stored"
    check "kill: every logged write is stored" [ -z "$(comm -23 "$tmp/logged" "$tmp/stored")" ]
    rec run2 crash_update_location --fix --batch 500
    check "kill: the rerun finishes the job" jqt run2 '.complete and .failed == 0 and .scanned == '"$total"
    check "kill: the rerun fixed what was left" jqt run2 '.fixed > 0'
    rec run3 crash_update_location
    check "kill: afterwards no drift" jqt run3 '.complete and .drift == 0'
}

case "$SCENARIO" in
branches) scenario_branches ;;
kill) scenario_kill ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
finish
