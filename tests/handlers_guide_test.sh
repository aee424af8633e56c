#!/usr/bin/env bash
# handlers_guide_test.sh -- every code block of docs/handlers.md, and the README's handler, builds and runs.
#
# usage: handlers_guide_test.sh SOURCE_DIR
# In a copy of the tree, tests/docs_blocks.py writes each block that names its file
# (`<!-- file: PATH -->`) into the tree (and fails on a guide block that nothing would
# check); shell blocks get `bash -n`.  The tree is built with -Werror; then the handlers of
# the guide and the README run against a throwaway PostGIS that has the guide's schema.sql:
# the values they write, the records that fail and what their log lines say.
set -u
src=$1
tmp=$(mktemp -d)
tree="$tmp/tree"
trap '"$tree/scripts/db" stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
mkdir -p "$tree" "$tmp/sh"
for f in CMakeLists.txt cmake deploy include src handlers scripts db; do cp -r "$src/$f" "$tree/"; done

python3 -B "$src/tests/docs_blocks.py" "$src/docs/handlers.md" "$tree" "$tmp/sh" --strict >"$tmp/guide.list"
check "every block of docs/handlers.md is extracted" test $? -eq 0
python3 -B "$src/tests/docs_blocks.py" "$src/README.md" "$tree" "$tmp/sh" >"$tmp/readme.list"
check "the README's blocks are extracted" test $? -eq 0
check "the README's handler example is one of them" grep -qx 'file handlers/hello/handler.c' "$tmp/readme.list"
check "the guide has C, SQL and handler.conf blocks" bash -c 'grep -q "\.c$" "$1" && grep -q "\.sql$" "$1" &&
    grep -q "handler\.conf$" "$1"' _ "$tmp/guide.list"
for f in "$tmp"/sh/*.sh; do
    check "shell block $(basename "$f") parses" bash -n "$f"
done

cmake -S "$tree" -B "$tree/build" -DVZ_WERROR=ON -DVZ_TESTS=OFF -DVZ_BENCH=OFF >"$tmp/build.log" 2>&1 &&
    cmake --build "$tree/build" --target vz-events -j2 >>"$tmp/build.log" 2>&1
check "the tree with every block builds with -Werror" test $? -eq 0 || tail -30 "$tmp/build.log" >&2
bin="$tree/build/vz-events"
for h in hello crash_note crash_tally crash_update_jurisdiction_id crash_jurisdiction_label yaml_version; do
    check "vz-events lists $h" bash -c '"$1" handlers | grep -qx "$2"' _ "$bin" "$h"
done

pg_env=$("$tree/scripts/db" start "$tmp/pg") || { echo "FAIL: cannot start PostgreSQL" >&2; exit 1; }
eval "$pg_env"
value() { psql -X -qtA "$DATABASE_URL" -c "SELECT coalesce(jurisdiction_id::text, 'NULL') FROM atd_txdot_crashes WHERE crash_id = $1"; }
body() { printf '%s' "$2" >"$tmp/$1.json"; }
crash() { body "$1" "{\"event\":{\"op\":\"UPDATE\",\"data\":{\"new\":{\"crash_id\":$2}}}}"; }
# run HANDLER BODY...: one SQS batch of those bodies; answer in $tmp/out, JSON log in $tmp/err
run() {
    local h=$1
    shift
    local files=()
    for b in "$@"; do files+=("$tmp/$b.json"); done
    "$bin" event --queue "atd-vz-data-events-${h}_local" "${files[@]}" >"$tmp/event.json" 2>/dev/null
    AWS_LAMBDA_LOG_FORMAT=JSON "$bin" invoke "$tmp/event.json" >"$tmp/out" 2>"$tmp/err"
}
failures() { grep -o '"itemIdentifier"' "$tmp/out" | wc -l; }
crash c1 1
crash c13 13
crash c999 999
body noid '{"event":{"op":"UPDATE","data":{"new":{}}}}'
body id '{"id":"a"}'
body empty '{}'

check "the guide's schema.sql was applied by scripts/db" test "$(value 1)" = NULL
run crash_jurisdiction_label c1 c999
check "crash_jurisdiction_label: the missing crash fails alone" test "$(failures)" -eq 1
check "crash_jurisdiction_label writes jurisdiction 5 for crash 1" test "$(value 1)" = 5
check "its describe hook adds the label" grep -q '"label":"AUSTIN FULL PURPOSE"' "$tmp/err"
run crash_update_jurisdiction_id c1 c13
check "crash_update_jurisdiction_id: both succeed" grep -qx '{"batchItemFailures":\[\]}' "$tmp/out"
check "crash 1 is unchanged (already 5)" grep -q '"key":1,.*"wrote":false' "$tmp/err"
check "crash 13 is in jurisdiction 6" test "$(value 13)" = 6
run crash_note c1 noid
check "crash_note: the payload without crash_id fails alone" test "$(failures)" -eq 1
check "crash_note logs its note" grep -q '"message":"crash 1: noted' "$tmp/err"
check "and the failure names the field" grep -q 'event.data.new.crash_id is missing' "$tmp/err"
run crash_tally c1 c13 noid
check "crash_tally: one of three fails" test "$(failures)" -eq 1
check "crash_tally logs its count" grep -q '2 of 3 records usable' "$tmp/err"
run hello id empty
check "hello: the body without an id fails alone" test "$(failures)" -eq 1
check "hello's failure says why" grep -q 'the payload has no \\"id\\" string' "$tmp/err"
run yaml_version id
check "yaml_version runs with libyaml" grep -q '"message":"libyaml 0\.' "$tmp/err"

echo "handlers_guide: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
