"""vzcheck.py -- the assertion helper the Python tests import (the twin of tests/check.sh).

check(name, cond, detail) counts a pass, or prints "FAIL: name detail" and counts a
failure; finish(suite) prints "suite: N passed, M failed" and exits non-zero on a failure.
"""
import sys

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail), file=sys.stderr)


def finish(suite):
    print("%s: %d passed, %d failed" % (suite, passed, failed))
    sys.exit(1 if failed else 0)
