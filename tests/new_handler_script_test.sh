#!/usr/bin/env bash
# new_handler_script_test.sh -- `scripts/new-handler NAME` is all it takes to add a handler.
#
# usage: new_handler_script_test.sh SOURCE_DIR
# In a copy of the tree: creates handlers/hello_world (C) and, with --sql,
# handlers/sql_world (SQL-only), builds, checks that the binary lists them,
# that ctest registered and passes their tests (sql_world's runs against its
# own PostGIS), that clang-tidy checks the C generated for sql_world, and that
# the deployment definition (deploy/render) gives each a queue, function and
# mapping in a pull-request stage -- with no edit anywhere else.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
tree="$tmp/tree"
mkdir "$tree"
for f in CMakeLists.txt cmake include src handlers scripts deploy bootstrap tests db .clang-tidy .clang-format; do
    cp -r "$src/$f" "$tree/"
done
rm -rf "$tree/handlers/hello_world" "$tree/handlers/sql_world"
# Without git the "only ... were added" check below would pass on nothing.
check "git is installed" command -v git
(cd "$tree" && git init -q && git add -A && git -c user.name=test -c user.email=test@localhost commit -qm base) >/dev/null 2>&1

check "a bad name is refused" bash -c '! "$1/scripts/new-handler" Hello-World 2>/dev/null' _ "$tree"
check "no name is refused" bash -c '! "$1/scripts/new-handler" 2>/dev/null' _ "$tree"
"$tree/scripts/new-handler" hello_world >"$tmp/new.out" 2>&1
check "new-handler hello_world succeeds" test $? -eq 0
for f in handler.c handler.conf README.md fixtures/update.json test.sh; do
    check "handlers/hello_world/$f written" test -s "$tree/handlers/hello_world/$f"
done
check "a C handler is log-only until said otherwise (deploy = pr, database = no)" \
    bash -c 'grep -qx "deploy = pr" "$1" && grep -qx "database = no" "$1" && grep -q "^# trigger = hello_world" "$1" &&
             grep -q "^# grant = " "$1"' _ "$tree/handlers/hello_world/handler.conf"
check "its handler.c passes clang-format as it comes" \
    bash -c 'cd "$1" && clang-format-14 --style=file --dry-run --Werror handlers/hello_world/handler.c' _ "$tree"
check "no @NAME@ left" bash -c '! grep -rq @NAME@ "$1/handlers/hello_world"' _ "$tree"
check "an existing handler is not overwritten" bash -c '! "$1/scripts/new-handler" hello_world 2>/dev/null' _ "$tree"
# Real logic replaces the template's placeholder; the template's test must still hold.
sed -i 's/handled a message of %zu bytes/wrote its row (%zu bytes)/' "$tree/handlers/hello_world/handler.c"
check "hello_world's logic changed" bash -c '! grep -q "handled a message" "$1/handlers/hello_world/handler.c"' _ "$tree"
check "a reserved name is refused" bash -c '! "$1/scripts/new-handler" --sql reconcile 2>/dev/null' _ "$tree"
"$tree/scripts/new-handler" --sql sql_world >"$tmp/new-sql.out" 2>&1
check "new-handler --sql sql_world succeeds" test $? -eq 0
for f in handler.conf update.sql schema.sql README.md fixtures/update.json test.sh; do
    check "handlers/sql_world/$f written" test -s "$tree/handlers/sql_world/$f"
done
check "a SQL-only handler has no C" bash -c '! ls "$1"/handlers/sql_world/*.c 2>/dev/null' _ "$tree"
check "the copy is a git repository" test -d "$tree/.git"
check "only handlers/hello_world and handlers/sql_world were added" \
    bash -c 'cd "$1" && s=$(git status --porcelain) && test -z "$(grep -vE "^\?\? handlers/(hello|sql)_world/$" <<<"$s")"' _ "$tree"

cmake -S "$tree" -B "$tree/build" -DVZ_WERROR=ON >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$tree/build" --target vz-events -j2 >>"$tmp/cmake.log" 2>&1
check "the tree builds" test $? -eq 0 || cat "$tmp/cmake.log" >&2
check "the binary lists hello_world" bash -c '"$1/build/vz-events" handlers | grep -qx hello_world' _ "$tree"
check "the binary lists sql_world" bash -c '"$1/build/vz-events" handlers | grep -qx sql_world' _ "$tree"
check "ctest registered their tests" bash -c 'ctest --test-dir "$1/build" -N | grep -q "handler_hello_world" &&
    ctest --test-dir "$1/build" -N | grep -q "handler_sql_world"' _ "$tree"
ctest --test-dir "$tree/build" -R '^handler_(hello|sql)_world$' --output-on-failure >"$tmp/ctest.log" 2>&1
check "their tests pass" grep -q '100% tests passed, 0 tests failed out of 2' "$tmp/ctest.log" || cat "$tmp/ctest.log" >&2
gen="$tree/build/generated/handlers/sql_world/handler_gen.c"
check "the build generated sql_world's C, with its rowsync rule" grep -q '.rowsync = &sync_rule' "$gen"
check "the generated C is in compile_commands.json (what scripts/lint checks)" \
    grep -q "generated/handlers/sql_world/handler_gen.c" "$tree/build/compile_commands.json"
(cd "$tree" && clang-tidy-14 -p build --quiet "$gen") >"$tmp/tidy.log" 2>&1
check "clang-tidy finds nothing in it" bash -c '! grep -qE "(warning|error):" "$1"' _ "$tmp/tidy.log" || cat "$tmp/tidy.log" >&2

"$tree/deploy/render" pr_7 --root "$tree" >"$tmp/pr_7.json"
check "the deployment renders" test $? -eq 0
for h in hello_world sql_world; do
    check "the deployment gives $h its queue, function and mapping" /usr/bin/python3 - "$tmp/pr_7.json" "$h" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["Resources"]
name = "atd-vz-data-events-%s_pr_7" % sys.argv[2]
q = [k for k, v in t.items() if v["Type"] == "AWS::SQS::Queue" and v["Properties"]["QueueName"] == name]
f = [k for k, v in t.items() if v["Type"] == "AWS::Lambda::Function" and v["Properties"]["FunctionName"] == name]
m = [v["Properties"] for v in t.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"
     and f and v["Properties"]["FunctionName"] == {"Ref": f[0]}]
ok = (len(q) == 1 and len(f) == 1 and len(m) == 1 and m[0]["EventSourceArn"] == {"Fn::GetAtt": [q[0], "Arn"]}
      and m[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and m[0]["BatchSize"] == 10)
sys.exit(0 if ok else 1)
PY
done
check "the source tree's deployment does not have it" bash -c '! "$1/deploy/render" pr_7 | grep -q hello_world' _ "$src"

echo "new-handler: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
