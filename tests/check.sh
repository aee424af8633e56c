# check.sh -- the assertion helper the shell tests source.
#
# `check NAME COMMAND...` runs COMMAND and counts a pass, or prints "FAIL: NAME"
# and counts a failure; the test ends with `echo "SUITE: $pass passed, $fails failed"`
# and a non-zero status when $fails is not 0.
fails=0
pass=0
check() { # check NAME COMMAND...
    local name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name" >&2; fails=$((fails + 1)); fi
}
