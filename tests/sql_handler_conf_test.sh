#!/usr/bin/env bash
# sql_handler_conf_test.sh -- a SQL-only handler's declaration is checked when the build is configured.
#
# usage: sql_handler_conf_test.sh SOURCE_DIR
# In a copy of the tree, each broken handlers/broken/ (no handler.conf, a key missing, a
# malformed line, a column that is not a name, $2 in update.sql, no $1, lock.sql with
# lock = none, a reserved folder name, an upper-case table, a folder name longer than the
# limit, an unknown key) must fail cmake's configuration with deploy/handlerconf.py's message
# naming the file and what to change.  Non-ASCII in a comment is a comment (cmake once read it
# as a line break: `lock = row  # … → lock = none` took no lock); the generated SQL quotes
# every name (`key = user` is the column, not current_user).  A correct one with `lock = none`
# configures and builds, and its generated C locks nothing.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
tree="$tmp/tree"
mkdir "$tree"
for f in CMakeLists.txt cmake deploy include src handlers; do cp -r "$src/$f" "$tree/"; done
sql='SELECT old, new, wrote, branch FROM (SELECT NULL::text AS old, NULL::text AS new, false AS wrote, $1::text AS branch) AS a'

# configure NAME CONF SQL [LOCK_SQL]: write handlers/NAME and configure; cmake's output in $tmp/out
configure() {
    rm -rf "$tree/handlers/broken" "$tree/handlers/reconcile" "$tree/handlers/"broken_* "$tree/build"
    mkdir -p "$tree/handlers/$1"
    [ -n "$2" ] && printf '%b' "$2" >"$tree/handlers/$1/handler.conf"
    printf '%s\n' "$3" >"$tree/handlers/$1/update.sql"
    [ -n "${4:-}" ] && printf '%s\n' "$4" >"$tree/handlers/$1/lock.sql"
    cmake -S "$tree" -B "$tree/build" -DVZ_WERROR=ON -DVZ_TESTS=OFF -DVZ_BENCH=OFF >"$tmp/out" 2>&1
}
# refused WHAT TEXT NAME CONF SQL [LOCK_SQL]: deploy/handlerconf.py, the build's one reader of the
# folders, refuses it with TEXT (without a configure each: fails_with below shows that its refusal
# is the configuration's error)
refused() {
    local what=$1 text=$2
    shift 2
    rm -rf "$tree/handlers/broken" "$tree/handlers/reconcile" "$tree/handlers/"broken_*
    mkdir -p "$tree/handlers/$1"
    [ -n "$2" ] && printf '%b' "$2" >"$tree/handlers/$1/handler.conf"
    printf '%s\n' "$3" >"$tree/handlers/$1/update.sql"
    [ -n "${4:-}" ] && printf '%s\n' "$4" >"$tree/handlers/$1/lock.sql"
    if python3 "$tree/deploy/handlerconf.py" json --root "$tree" >/dev/null 2>"$tmp/out"; then
        check "$what: refused" false
    else
        check "$what: says \"$text\"" grep -qF -- "$text" "$tmp/out"
    fi
}
fails_with() { # fails_with WHAT TEXT NAME CONF SQL [LOCK_SQL]
    local what=$1 text=$2
    shift 2
    if configure "$@"; then
        check "$what: configuration fails" false
    else
        # cmake wraps long messages: compare with the blanks and line ends collapsed
        check "$what: says \"$text\"" bash -c 'tr -s " \n" "  " <"$1" | grep -qF -- "$2"' _ "$tmp/out" "$text"
    fi
}
good='table = atd_txdot_crashes\nkey = crash_id\nvalue = austin_full_purpose\n'
refused "no handler.conf" "handlers/broken: a SQL-only handler (update.sql, no handler.c) needs handlers/broken/handler.conf" \
    broken "" "$sql"
refused "no value" "handlers/broken/handler.conf: \`value = ...\` is missing" \
    broken 'table = atd_txdot_crashes\nkey = crash_id\n' "$sql"
refused "a line that is not key = value" "handlers/broken/handler.conf:2: expected \`key = value\`" \
    broken 'table = atd_txdot_crashes\nkey crash_id\nvalue = x\n' "$sql"
refused "a column that is not a name" "handlers/broken/handler.conf:2: key 'crash_id; DROP' is not a name" \
    broken 'table = atd_txdot_crashes\nkey = crash_id; DROP\nvalue = x\n' "$sql"
fails_with "a second parameter" "handlers/broken/update.sql: a SQL-only handler's statements take one parameter" \
    broken "$good" 'SELECT $1, $2'
fails_with "no \$1" "handlers/broken/update.sql: the statement never uses \$1" broken "$good" 'SELECT 1'
refused "lock.sql and lock = none" "handlers/broken/handler.conf:4: \`lock = none\` but handlers/broken/lock.sql exists" \
    broken "${good}lock = none\n" "$sql" 'SELECT 1 FROM atd_txdot_crashes WHERE crash_id = $1 FOR UPDATE'
refused "a reserved name" "handlers/reconcile: the folder name is refused: reconcile is reserved" reconcile "$good" "$sql"
fails_with "an upper-case table" "handlers/broken/handler.conf:1: table 'Atd_Txdot_Crashes' is not a name of lower-case letters, digits and _ starting with a letter or _ (write it as PostgreSQL stores an unquoted name: atd_txdot_crashes)" \
    broken 'table = Atd_Txdot_Crashes\nkey = crash_id\nvalue = austin_full_purpose\n' "$sql"
long=broken_$(printf 'x%.0s' {1..32}) # 39 characters: one limit, deploy/handlerconf.py's MAX_HANDLER_NAME (34)
refused "a name longer than the limit" "handlers/$long: the folder name is refused: 39 characters" "$long" "$good" "$sql"
refused "a misspelt key" "handlers/broken/handler.conf:4: unknown key 'lokc'" broken "${good}lokc = none\n" "$sql"

# Non-ASCII in comments: each comment stays a comment; the row lock stays.
configure broken "# “CR3” crashes — the state’s form\n${good}lock = row  # … → lock = none\n" "$sql"
check "a comment with “CR3” and … → configures" test $? -eq 0
check "and the lock stays (lock = row)" grep -q '.lock = &lock_stmt,' "$tree/build/generated/handlers/broken/handler_gen.c"
# Every name the build writes into SQL is quoted.
configure broken 'table = public.atd_txdot_crashes\nkey = user\nvalue = current_date\n' "$sql"
check "key = user configures" test $? -eq 0
check "and its lock names the column \"user\", quoted" grep -qF \
    'SELECT \"user\" FROM \"public\".\"atd_txdot_crashes\" WHERE \"user\" = $1 FOR UPDATE' \
    "$tree/build/generated/handlers/broken/handler_gen.c"

configure broken "# comment\n${good}lock = none   # no row lock\ndeploy = pr\n" "$sql"
check "lock = none and deploy = pr configure" test $? -eq 0
gen="$tree/build/generated/handlers/broken/handler_gen.c"
check "its generated C locks nothing" grep -q '.lock = NULL,' "$gen"
check "and names its key, table and value" \
    bash -c 'grep -q "\.key_field = \"crash_id\"" "$1" && grep -q "\.table = \"atd_txdot_crashes\"" "$1" &&
             grep -q "\.value_field = \"austin_full_purpose\"" "$1"' _ "$gen"
cmake --build "$tree/build" --target vz-events -j2 >"$tmp/build.log" 2>&1
check "and it builds with -Werror" test $? -eq 0
check "and the binary lists it" bash -c '"$1/build/vz-events" handlers | grep -qx broken' _ "$tree"
echo "sql_handler_conf: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
