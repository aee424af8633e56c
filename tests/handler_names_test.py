#!/usr/bin/env python3
"""handler_names_test.py -- deploy/render --check-name gives tests/fixtures/handler-names.txt's verdicts.

The /events/ endpoint sends a pull request's event for any name a handler may have; it applies the
rule in C (vz_endpoint_handler_name_ok, checked against the same file by tests/test_endpoint.c).
Both readers of the file holding each case to the same verdict and reason keeps the two copies of
the rule one rule.  Usage: handler_names_test.py ROOT (the repository)."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import tempfile


def load_render(root):
    loader = importlib.machinery.SourceFileLoader("render", os.path.join(root, "deploy", "render"))
    spec = importlib.util.spec_from_loader("render", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def cases(root):
    path = os.path.join(root, "tests", "fixtures", "handler-names.txt")
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if parts[0] == "ok" and len(parts) == 2:
                yield n, parts[1], None
            elif parts[0] == "refused" and len(parts) == 3:
                yield n, parts[1], parts[2]
            else:
                raise SystemExit("%s:%d: expected ok<TAB>NAME or refused<TAB>NAME<TAB>REASON" % (path, n))


def main():
    root = os.path.abspath(sys.argv[1])
    render = load_render(root)
    failures = 0
    seen = {"ok": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as empty:  # no handlers/: only the name's own rules apply
        for n, name, want in cases(root):
            got = render.check_name(empty, name)
            seen["ok" if want is None else "refused"] += 1
            if got != want:
                failures += 1
                print("FAIL line %d %r: deploy/render says %r, the file %r" % (n, name, got, want))
    # The command itself, once each way, as scripts/new-handler calls it.
    for name, status in (("newcomer_check", 0), ("x_pr_y", 1)):
        rc = subprocess.run([os.path.join(root, "deploy", "render"), "--check-name", name], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if rc != status:
            failures += 1
            print("FAIL deploy/render --check-name %s: exit %d, expected %d" % (name, rc, status))
    if seen["ok"] < 5 or seen["refused"] < 10:
        failures += 1
        print("FAIL the file holds too few cases: %r" % seen)
    print("handler names: %d accepted, %d refused, %d failures" % (seen["ok"], seen["refused"], failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
