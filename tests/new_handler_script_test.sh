#!/usr/bin/env bash
# new_handler_script_test.sh -- `scripts/new-handler NAME` is all it takes to add a handler.
#
# usage: new_handler_script_test.sh SOURCE_DIR
# In a copy of the tree: creates handlers/hello_world, builds, checks that the
# binary lists it, that ctest registered and passes its test, and that the
# deployment definition (deploy/render) gives it a queue, function and mapping
# in a pull-request stage -- with no edit anywhere else.
set -u
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
tree="$tmp/tree"
mkdir "$tree"
for f in CMakeLists.txt cmake include src handlers scripts deploy bootstrap tests; do cp -r "$src/$f" "$tree/"; done
rm -rf "$tree/handlers/hello_world"
# Without git the "only handlers/hello_world was added" check below would pass on nothing.
check "git is installed" command -v git
(cd "$tree" && git init -q && git add -A && git -c user.name=test -c user.email=test@localhost commit -qm base) >/dev/null 2>&1

check "a bad name is refused" bash -c '! "$1/scripts/new-handler" Hello-World 2>/dev/null' _ "$tree"
check "no name is refused" bash -c '! "$1/scripts/new-handler" 2>/dev/null' _ "$tree"
"$tree/scripts/new-handler" hello_world >"$tmp/new.out" 2>&1
check "new-handler hello_world succeeds" test $? -eq 0
for f in handler.c README.md fixtures/update.json test.sh; do
    check "handlers/hello_world/$f written" test -s "$tree/handlers/hello_world/$f"
done
check "no @NAME@ left" bash -c '! grep -rq @NAME@ "$1/handlers/hello_world"' _ "$tree"
check "an existing handler is not overwritten" bash -c '! "$1/scripts/new-handler" hello_world 2>/dev/null' _ "$tree"
check "the copy is a git repository" test -d "$tree/.git"
check "only handlers/hello_world was added" \
    bash -c 'cd "$1" && s=$(git status --porcelain) && test -z "$(grep -v "^?? handlers/hello_world/$" <<<"$s")"' _ "$tree"

cmake -S "$tree" -B "$tree/build" -DVZ_WERROR=ON >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$tree/build" --target vz-events -j2 >>"$tmp/cmake.log" 2>&1
check "the tree builds" test $? -eq 0 || cat "$tmp/cmake.log" >&2
check "the binary lists hello_world" bash -c '"$1/build/vz-events" handlers | grep -qx hello_world' _ "$tree"
check "ctest registered its test" bash -c 'ctest --test-dir "$1/build" -N | grep -q "handler_hello_world"' _ "$tree"
ctest --test-dir "$tree/build" -R '^handler_hello_world$' --output-on-failure >"$tmp/ctest.log" 2>&1
check "its test passes" grep -q '100% tests passed, 0 tests failed out of 1' "$tmp/ctest.log" || cat "$tmp/ctest.log" >&2

"$tree/deploy/render" pr_7 --root "$tree" >"$tmp/pr_7.json"
check "the deployment renders" test $? -eq 0
check "the deployment gives hello_world its queue, function and mapping" /usr/bin/python3 - "$tmp/pr_7.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["Resources"]
name = "atd-vz-data-events-hello_world_pr_7"
q = [k for k, v in t.items() if v["Type"] == "AWS::SQS::Queue" and v["Properties"]["QueueName"] == name]
f = [k for k, v in t.items() if v["Type"] == "AWS::Lambda::Function" and v["Properties"]["FunctionName"] == name]
m = [v["Properties"] for v in t.values() if v["Type"] == "AWS::Lambda::EventSourceMapping"
     and f and v["Properties"]["FunctionName"] == {"Ref": f[0]}]
ok = (len(q) == 1 and len(f) == 1 and len(m) == 1 and m[0]["EventSourceArn"] == {"Fn::GetAtt": [q[0], "Arn"]}
      and m[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and m[0]["BatchSize"] == 10)
sys.exit(0 if ok else 1)
PY
check "the source tree's deployment does not have it" bash -c '! "$1/deploy/render" pr_7 | grep -q hello_world' _ "$src"

echo "new-handler: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
