#!/usr/bin/python3
"""workflows_test.py -- the CI workflows parse and every job runs the scripts a person runs.

usage: workflows_test.py SOURCE_DIR

Parses .github/workflows/*.yml (PyYAML) and checks: every job in debian:12
installs git before actions/checkout (else the checkout is a tarball and tests
that run git do nothing) and each run step after it calls a command of scripts/;
`id-token: write` only on the jobs that assume the deploy role; pull requests are
tested, deployed to pr_<N> on open/change and destroyed on close (only pr_<N>),
a fork's only tested (GitHub gives it no secrets); main deploys staging and the
production branch production, after the tests; AWS credentials and the artifact
bucket come from the secret store, never from the file.
"""
import glob
import os
import re
import sys

import yaml

from vzcheck import check, finish

SRC = os.path.abspath(sys.argv[1])


PR = "${{ github.event.pull_request.number }}"
GIT_INSTALL = "apt-get update && apt-get install -y --no-install-recommends git ca-certificates"
SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository"
files = sorted(glob.glob(os.path.join(SRC, ".github", "workflows", "*.yml")))
check("there are workflows", len(files) >= 2, str(files))
flows = {}
for path in files:
    with open(path) as f:
        text = f.read()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        check("%s parses" % path, False, str(e))
        continue
    check("%s parses" % os.path.basename(path), isinstance(doc, dict) and "jobs" in doc)
    flows[os.path.basename(path)] = doc
    check("%s: workflow-wide permissions are contents: read only" % path,
          doc.get("permissions") == {"contents": "read"}, str(doc.get("permissions")))
    check("%s: no AWS key in the file" % path, not re.search(r"AKIA[0-9A-Z]{16}|aws_secret_access_key", text, re.I))
    for jname, job in doc["jobs"].items():
        steps = job.get("steps", [])
        co = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/checkout@")]
        check("%s/%s checks out once" % (path, jname), len(co) == 1)
        if job.get("container") == "debian:12" and co:
            # Without git, actions/checkout falls back to a tarball and git-using tests do nothing.
            check("%s/%s installs git in debian:12 before the checkout" % (path, jname),
                  any(s.get("run", "").strip() == GIT_INSTALL for s in steps[:co[0]]), str(steps[:co[0]]))
            check("%s/%s runs nothing else before the checkout" % (path, jname),
                  all(s.get("run", "").strip() == GIT_INSTALL for s in steps[:co[0]]))
        runs = [s["run"] for s in steps[co[0] + 1 if co else 0:] if "run" in s]
        check("%s/%s has run steps" % (path, jname), len(runs) > 0)
        assumes = any("role-to-assume" in s.get("with", {}) for s in steps)
        perms = job.get("permissions", {})
        if assumes:
            check("%s/%s assumes the deploy role: id-token: write on this job" % (path, jname),
                  perms == {"contents": "read", "id-token": "write"}, str(perms))
        else:
            check("%s/%s assumes no role: no id-token: write" % (path, jname),
                  perms.get("id-token") != "write" if isinstance(perms, dict) else perms != "write-all")
        for r in runs:
            m = re.search(r"(?:^|\s)\./scripts/([a-z-]+)", r)
            check("%s/%s: step %r calls a scripts/ command" % (os.path.basename(path), jname, r), m is not None)
            if m:
                check("scripts/%s exists and is executable" % m.group(1),
                      os.access(os.path.join(SRC, "scripts", m.group(1)), os.X_OK))
            if "scripts/destroy" in r:
                check("%s/%s: destroy only ever names pr_<N>" % (path, jname),
                      r.strip() == "./scripts/destroy pr_" + PR, r)
        for s in job.get("steps", []):
            w = s.get("with", {})
            if "role-to-assume" in w:
                check("%s/%s: AWS role from the secret store" % (path, jname),
                      re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", w["role-to-assume"]) is not None)
            if "VZ_ARTIFACT_BUCKET" in s.get("env", {}):
                check("%s/%s: bucket from the secret store" % (path, jname),
                      s["env"]["VZ_ARTIFACT_BUCKET"].startswith("${{ secrets."))


def triggers(doc):
    return doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true


def runs(job):
    return [s["run"].strip() for s in job.get("steps", []) if "run" in s]


def evaluate(expr, ref):
    """${{ github.ref_name == 'production' && 'production' || 'staging' }} for one branch."""
    m = re.fullmatch(r"\$\{\{ github\.ref_name == '(\w+)' && '(\w+)' \|\| '(\w+)' \}\}", expr)
    if not m:
        return None
    return m.group(2) if ref == m.group(1) else m.group(3)


pr = flows.get("pull-request.yml")
check("pull-request.yml exists", pr is not None)
if pr:
    t = triggers(pr)["pull_request"]["types"]
    check("pull requests: opened, synchronize, reopened, closed", set(t) >= {"opened", "synchronize", "reopened", "closed"})
    jobs = pr["jobs"]
    check("pull requests are tested", "./scripts/test" in runs(jobs["test"]))
    check("the test job skips closed pull requests", jobs["test"]["if"] == "github.event.action != 'closed'")
    check("pull requests from forks are tested (no secret needed)", SAME_REPO not in jobs["test"]["if"])
    check("deploy pr_<N> after the tests", jobs["deploy"]["needs"] == "test")
    check("deploy pr_<N> on open and change, not on close, never for a fork",
          jobs["deploy"]["if"] == "github.event.action != 'closed' && " + SAME_REPO, jobs["deploy"]["if"])
    check("destroy never for a fork (it has no secrets; it deployed nothing)",
          jobs["destroy"]["if"] == "github.event.action == 'closed' && " + SAME_REPO, jobs["destroy"]["if"])
    check("only the deploy and destroy jobs can reach AWS",
          {j for j, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"} == {"deploy", "destroy"})
    check("the deploy job packages", "./scripts/package" in runs(jobs["deploy"]))
    check("the deploy job deploys pr_<N>",
          "./scripts/deploy pr_%s --zip dist/vz-events.zip" % PR in runs(jobs["deploy"]), str(runs(jobs["deploy"])))
    check("destroy on close only", jobs["destroy"]["if"].startswith("github.event.action == 'closed'"))
    check("the destroy job destroys pr_<N>", "./scripts/destroy pr_" + PR in runs(jobs["destroy"]))

br = flows.get("deploy.yml")
check("deploy.yml exists", br is not None)
if br:
    check("pushes to main and production", set(triggers(br)["push"]["branches"]) == {"main", "production"})
    jobs = br["jobs"]
    check("branches are tested first", "./scripts/test" in runs(jobs["test"]) and jobs["deploy"]["needs"] == "test")
    d = [r for r in runs(jobs["deploy"]) if r.startswith("./scripts/deploy ")]
    check("one deploy step", len(d) == 1, str(d))
    if d:
        expr = d[0][len("./scripts/deploy "):-len(" --zip dist/vz-events.zip")]
        check("main deploys staging", evaluate(expr, "main") == "staging", expr)
        check("production deploys production", evaluate(expr, "production") == "production", expr)
        check("the GitHub environment matches the stage",
              evaluate(jobs["deploy"]["environment"], "main") == "staging"
              and evaluate(jobs["deploy"]["environment"], "production") == "production")
    check("no branch workflow destroys anything", not any("destroy" in r for j in jobs.values() for r in runs(j)))

finish("workflows")
