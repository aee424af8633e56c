#!/usr/bin/env python3
"""deploy_cfn_lint_test.py -- cfn-lint on the rendered template of every stage.

usage: deploy_cfn_lint_test.py SOURCE_DIR

Renders pr_845, staging and production (deploy/render, as scripts/deploy does) and runs
the machine's cfn-lint (1.51 here; it cannot be installed from the registries CI reaches,
so .ci/run checks that it is there) on them, informational checks included: an error fails
the test; warnings and informational findings are listed and fail nothing.  cfn-lint checks
the templates against CloudFormation's resource specification (property names, types,
allowed values, references between resources).  The same run lints a copy of staging's
template with one wrong value, to show that an error is seen.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzcheck import check, finish  # noqa: E402

SRC = os.path.abspath(sys.argv[1])
cfn_lint = shutil.which("cfn-lint")
if cfn_lint is None:
    sys.exit("deploy_cfn_lint: cfn-lint is not on PATH (the machine's Python has it: pip show cfn-lint)")
version = subprocess.run([cfn_lint, "--version"], capture_output=True, text=True).stdout.strip()
tmp = tempfile.mkdtemp()
files = {}
for stage in ("pr_845", "staging", "production"):
    files[stage] = os.path.join(tmp, stage + ".template.json")
    with open(files[stage], "w") as f:
        r = subprocess.run([os.path.join(SRC, "deploy", "render"), stage], stdout=f, stderr=subprocess.PIPE,
                           text=True)
    check("render %s" % stage, r.returncode == 0, r.stderr)
broken = json.load(open(files["staging"]))
broken["Resources"]["CrashUpdateLocationQueue"]["Properties"]["VisibilityTimeout"] = 43201  # SQS allows 0 to 43200
files["broken"] = os.path.join(tmp, "broken.template.json")
json.dump(broken, open(files["broken"], "w"), indent=1)
# One run for all (cfn-lint's start-up is most of its time).  Parseable lines:
# FILE:LINE:COLUMN:END_LINE:END_COLUMN:RULE:MESSAGE; rules E* are errors, W* warnings, I* information.
r = subprocess.run([cfn_lint, "--format", "parseable", "--include-checks", "I", "--"] + list(files.values()),
                   capture_output=True, text=True)
check("cfn-lint ran (exit %d)" % r.returncode, r.returncode in range(0, 16) and not r.stderr.strip(), r.stderr)
findings = {k: [] for k in files}
for line in r.stdout.splitlines():
    for k, path in files.items():
        if line.startswith(path + ":"):
            fields = line[len(path) + 1:].split(":", 5)
            findings[k].append((fields[4], fields[5], fields[0]))
for stage in ("pr_845", "staging", "production"):
    for rule, msg, line in findings[stage]:
        print("%s: %s line %s: %s" % (stage, rule, line, msg))
    errors = [f for f in findings[stage] if f[0].startswith("E")]
    check("%s: %s finds no error (%d warnings or informational findings, listed above)"
          % (stage, version, len(findings[stage]) - len(errors)), not errors, errors)
    print("%s: %s: %d errors, %d other findings" % (stage, version, len(errors), len(findings[stage]) - len(errors)))
check("a visibility timeout of 43201 s is an error to %s" % version,
      any(f[0].startswith("E") and "43201" in f[1] for f in findings["broken"]), findings["broken"])
shutil.rmtree(tmp)
finish("deploy_cfn_lint")
