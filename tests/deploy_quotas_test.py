#!/usr/bin/python3
"""deploy_quotas_test.py -- 40 handler folders render within every CloudFormation quota.

usage: deploy_quotas_test.py SOURCE_DIR

In a copy of the tree whose handlers/ holds 40 generated folders of the longest
name scripts/new-handler accepts (34 characters; half of them with a row rule,
so with a drift alarm and in the reconcile), renders pr_9999999 (the longest
stage), staging and production and checks each against CloudFormation's quotas
(docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
500 resources, 60 dynamic references, 200 outputs, 200 parameters, a template
of 51,200 bytes inline or 1 MB from S3 (scripts/deploy always passes it from
S3); and Lambda's: 64-character function names, 4 KB of environment; SQS's
80-character queue names.  It prints the figures (docs/deploy.md quotes them).
With 70 such handlers, render refuses staging's endpoint environment by name; with 70
handlers of short names, every stage's template over CloudFormation's 500 resources, with the
number (and renders the most that fit).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from vzcheck import check, finish

SRC = os.path.abspath(sys.argv[1])


def render_run(stage, root):
    return subprocess.run([os.path.join(SRC, "deploy", "render"), stage, "--root", root],
                          capture_output=True, text=True)


def render(stage, root):
    out = render_run(stage, root)
    if out.returncode != 0:
        raise SystemExit("render %s failed: %s" % (stage, out.stderr))
    return json.loads(out.stdout)


def of_type(t, typ):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == typ}


def alarms(t):
    return {v["Properties"]["AlarmName"]: v["Properties"] for v in of_type(t, "AWS::CloudWatch::Alarm").values()}


def statements(t, role_lid):
    role = t["Resources"][role_lid]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def tree_copy():
    root = tempfile.mkdtemp()
    for d in ("deploy", "handlers", "scripts"):
        shutil.copytree(os.path.join(SRC, d), os.path.join(root, d), ignore=shutil.ignore_patterns("__pycache__"))
    return root


root = tree_copy()
shutil.rmtree(os.path.join(root, "handlers"))
for i in range(40):
    name = ("h%02d_" % i + "x" * 40)[:34]  # the longest name new-handler accepts
    d = os.path.join(root, "handlers", name)
    os.makedirs(d)
    with open(os.path.join(d, "handler.c"), "w") as f:
        f.write("/* generated */\n" + ("VZ_HANDLER(x) = {.rowsync = &rule};\n" if i % 2 else ""))
figures = []
for stage in ("pr_9999999", "staging", "production"):
    t = render(stage, root)
    body = json.dumps(t, separators=(",", ":"))
    rendered = render_run(stage, root).stdout
    n_res, n_out, n_par = len(t["Resources"]), len(t["Outputs"]), len(t["Parameters"])
    n_dyn = len(re.findall(r"\{\{resolve:", rendered))
    figures.append("%s: %d resources, %d outputs, %d parameters, %d dynamic references, %d bytes (%d compact)"
                   % (stage, n_res, n_out, n_par, n_dyn, len(rendered.encode()), len(body.encode())))
    check("40 handlers, %s: 40 handler functions" % stage,
          len([f for f in of_type(t, "AWS::Lambda::Function").values() if f["Properties"]["Handler"].startswith("h")]) == 40)
    check("40 handlers, %s: resources %d <= 500" % (stage, n_res), n_res <= 500)
    check("40 handlers, %s: dynamic references %d <= 60" % (stage, n_dyn), n_dyn <= 60)
    check("40 handlers, %s: outputs %d <= 200" % (stage, n_out), n_out <= 200)
    check("40 handlers, %s: parameters %d <= 200" % (stage, n_par), n_par <= 200)
    check("40 handlers, %s: the template as uploaded, %d bytes <= 1 MB" % (stage, len(rendered.encode())),
          len(rendered.encode()) <= 1024 * 1024)
    check("40 handlers, %s: function names <= 64 characters" % stage,
          all(len(f["Properties"]["FunctionName"]) <= 64 for f in of_type(t, "AWS::Lambda::Function").values()))
    check("40 handlers, %s: queue names <= 80 characters" % stage,
          all(len(q["Properties"]["QueueName"]) <= 80 for q in of_type(t, "AWS::SQS::Queue").values()))
    check("40 handlers, %s: alarm names <= 255 characters" % stage, all(len(n) <= 255 for n in alarms(t)))
    check("40 handlers, %s: description <= 1024 bytes" % stage, len(t["Description"].encode()) <= 1024)
    # Lambda allows 4 KB of environment (keys and values); a parameter's value is counted as 256 bytes.
    env_bytes = max(sum(len(k) + (len(v) if isinstance(v, str) else 256)
                        for k, v in f["Properties"]["Environment"]["Variables"].items())
                    for f in of_type(t, "AWS::Lambda::Function").values())
    figures[-1] += ", largest environment %d bytes" % env_bytes
    check("40 handlers, %s: every function's environment within Lambda's 4 KB (%d bytes)" % (stage, env_bytes),
          env_bytes <= 4096)
    if stage != "pr_9999999":
        est = statements(t, "EndpointRole")
        check("40 handlers, %s: the endpoint policy does not grow with the handlers (%d bytes)"
              % (stage, len(json.dumps(est))), len(json.dumps(est)) < 2048)
print("quota figures with 40 handlers of 34 characters:\n  " + "\n  ".join(figures))
for i in range(40, 70):
    d = os.path.join(root, "handlers", ("h%02d_" % i + "x" * 40)[:34])
    os.makedirs(d)
    open(os.path.join(d, "handler.c"), "w").write("/* generated */\n")
r = render_run("staging", root)
check("70 handlers of 34 characters: staging renders (the endpoint lists its handlers once)",
      r.returncode == 0, r.stderr)
# The endpoint's environment (VZ_DEPLOYED_HANDLERS) passes Lambda's 4 KB at about 115 handlers of
# 34 characters, past the 500 resources: render checks the environment first, so it names it.
for i in range(70, 120):
    d = os.path.join(root, "handlers", ("h%03d_" % i + "x" * 40)[:34])
    os.makedirs(d)
    open(os.path.join(d, "handler.c"), "w").write("/* generated */\n")
r = render_run("staging", root)
check("120 handlers of 34 characters: render refuses the endpoint's environment over Lambda's 4 KB, by name",
      r.returncode != 0 and "atd-vz-data-events-endpoint_staging" in r.stderr and "4096" in r.stderr, r.stderr)
# Short names, so that the environment fits: the next quota is CloudFormation's 500 resources.
shutil.rmtree(os.path.join(root, "handlers"))
for i in range(72):
    d = os.path.join(root, "handlers", "g%02d" % i)
    os.makedirs(d)
    open(os.path.join(d, "handler.c"), "w").write("/* generated */\nVZ_HANDLER(x) = {.rowsync = &rule};\n")
for stage in ("pr_1", "staging", "production"):
    r = render_run(stage, root)
    m = re.search(r"the template has (\d+) resources, CloudFormation allows 500", r.stderr)
    check("72 handlers of 3 characters, %s: render refuses the template over 500 resources, with the number" % stage,
          r.returncode != 0 and m is not None and int(m.group(1)) > 500, r.stderr)
    if m:
        figures.append("72 handlers, %s: refused: %s" % (stage, r.stderr.strip()))
# Exactly at the quota is accepted: drop handlers until the template holds at most 500.
n = 72
while n > 0:
    r = render_run("staging", root)
    if r.returncode == 0:
        break
    n -= 1
    shutil.rmtree(os.path.join(root, "handlers", "g%02d" % n))
t = json.loads(r.stdout)
check("%d handlers: staging renders, %d resources <= 500" % (n, len(t["Resources"])),
      r.returncode == 0 and len(t["Resources"]) <= 500 and len(t["Resources"]) + 7 > 500)
figures.append("staging renders up to %d handlers with a row rule (%d resources)" % (n, len(t["Resources"])))
print("\n  ".join(figures[3:]))
shutil.rmtree(root)


finish("deploy_quotas")
