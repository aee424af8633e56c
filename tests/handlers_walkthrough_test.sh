#!/usr/bin/env bash
# handlers_walkthrough_test.sh -- the walk-through of docs/handlers.md, run as a newcomer would type it.
#
# usage: handlers_walkthrough_test.sh SOURCE_DIR
# tests/docs_blocks.py collects the walk-through's blocks (`<!-- walk -->`, `<!-- walk: PATH -->`,
# `<!-- walk-expect: PATH -->`) into one script; it runs, in order, in a copy of the tree that is
# a git repository on branch main (the walk-through takes staging's handler folders from main),
# with `set -euo pipefail`: a command that fails, or an output line the page shows that does not
# come, fails the test and names the page's line.  It builds the tree, runs the new handler's own
# test, renders its Hasura metadata, and drives the local flow (scripts/flow: the local SQS
# server, vz-emulator, PostGIS).  Prints how long the walk-through took.
set -u
src=$1
tmp=$(mktemp -d)
tree="$tmp/tree"
trap '"$tree/scripts/flow" stop "$tmp/vz-walk" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/check.sh"
mkdir -p "$tree" "$tmp/sh"
for f in CMakeLists.txt cmake include src handlers scripts deploy tests db tools; do
    [ -e "$src/$f" ] && cp -r "$src/$f" "$tree/"
done
for f in .clang-tidy .clang-format; do [ -e "$src/$f" ] && cp "$src/$f" "$tree/"; done
check "git is installed" command -v git >/dev/null
(cd "$tree" && git init -q -b main && git add -A && git -c user.name=walk -c user.email=walk@localhost commit -qm main) \
    >/dev/null 2>&1
check "the tree is a git repository on main" git -C "$tree" rev-parse --verify -q main >/dev/null

python3 -B "$src/tests/docs_blocks.py" "$src/docs/handlers.md" "$tmp/unused" "$tmp/sh" --strict >"$tmp/blocks.list"
check "the guide's blocks are extracted" test $? -eq 0
check "the walk-through has blocks to run" test -s "$tmp/sh/walk.sh"
check "and output to compare" grep -q '^walk-expect ' "$tmp/blocks.list"

start=$(date +%s)
(cd "$tree" && bash "$tmp/sh/walk.sh") >"$tmp/walk.log" 2>&1
rc=$?
took=$(($(date +%s) - start))
check "the walk-through runs to its end" test $rc -eq 0 || tail -40 "$tmp/walk.log" >&2
echo "handlers_walkthrough: the walk-through took ${took} s"
echo "handlers_walkthrough: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
