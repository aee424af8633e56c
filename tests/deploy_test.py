#!/usr/bin/python3
"""deploy_test.py -- the deployment definition itself, and the scripts that apply it.

usage: deploy_test.py SOURCE_DIR

1. Renders the real template (deploy/render, the command scripts/deploy runs)
   for pr_45, pr_845, staging and production and checks that every handler
   folder yields its queue, log group, role, function and event source mapping
   with the properties the issue and the domain ask for.
2. Runs scripts/deploy and scripts/destroy against tests/aws-standin/aws, a
   STAND-IN for the AWS CLI (the AWS control plane cannot run here) that records
   the calls: deploy is create-or-update and uploads a zip once; destroy of pr_45
   deletes exactly stack atd-vz-data-events-pr-45 and leaves pr_845 and staging;
   staging and production cannot be destroyed through scripts/destroy at all.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from vzcheck import check, finish

SRC = os.path.abspath(sys.argv[1])


def render(stage, root=SRC):
    out = subprocess.run([os.path.join(SRC, "deploy", "render"), stage, "--root", root],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("render %s failed: %s" % (stage, out.stderr))
    return json.loads(out.stdout)


def handler_folders(root=SRC):
    h = os.path.join(root, "handlers")
    return sorted(n for n in os.listdir(h)
                  if any(os.path.isfile(os.path.join(h, n, f)) for f in ("handler.c", "update.sql")))


def of_type(t, typ):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == typ}


def settings(name):
    with open(os.path.join(SRC, "deploy", "stages", name + ".json")) as f:
        return json.load(f)


# --- 1. the template --------------------------------------------------------------
helped = subprocess.run([os.path.join(SRC, "deploy", "render"), "--help"], capture_output=True, text=True)
check("render --help prints its usage and exits 0",
      helped.returncode == 0 and "usage: deploy/render STAGE [--root DIR]" in helped.stdout, helped.stderr)
handlers = handler_folders()
check("a SQL-only handler folder (update.sql, no handler.c) is a handler folder",
      "crash_update_jurisdiction" in handlers)
check("there are handler folders", len(handlers) > 0)
templates = {s: render(s) for s in ("pr_45", "pr_845", "staging", "production")}
for stage, t in templates.items():
    st = settings("staging" if stage.startswith("pr_") else stage)
    timeout = st["function"]["timeoutSeconds"]
    queues = of_type(t, "AWS::SQS::Queue")
    funcs = of_type(t, "AWS::Lambda::Function")
    esms = of_type(t, "AWS::Lambda::EventSourceMapping")
    roles = of_type(t, "AWS::IAM::Role")
    check("%s: one queue per handler" % stage, len(queues) == len(handlers), str(len(queues)))
    check("%s: one function per handler" % stage, len(funcs) == len(handlers))
    check("%s: one mapping per handler" % stage, len(esms) == len(handlers))
    check("%s: one role per handler" % stage, len(roles) == len(handlers))
    check("%s: the shared dead-letter queue is not owned by the stack" % stage,
          all(q["Properties"]["QueueName"] != "atd_vz_deadletter_queue" for q in queues.values()))
    allowed_types = {"AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping",
                     "AWS::IAM::Role", "AWS::Logs::LogGroup"}
    check("%s: nothing but queues, functions, mappings, roles and log groups" % stage,
          all(r["Type"] in allowed_types for r in t["Resources"].values()))
    for h in handlers:
        name = "atd-vz-data-events-%s_%s" % (h, stage)
        qid = [k for k, v in queues.items() if v["Properties"]["QueueName"] == name]
        fid = [k for k, v in funcs.items() if v["Properties"]["FunctionName"] == name]
        check("%s/%s: queue named %s" % (stage, h, name), len(qid) == 1)
        check("%s/%s: function named %s" % (stage, h, name), len(fid) == 1)
        if len(qid) != 1 or len(fid) != 1:
            continue
        q = queues[qid[0]]["Properties"]
        f = funcs[fid[0]]["Properties"]
        check("%s/%s: DelaySeconds 0" % (stage, h), q["DelaySeconds"] == 0)
        check("%s/%s: MaximumMessageSize 262144" % (stage, h), q["MaximumMessageSize"] == 262144)
        check("%s/%s: MessageRetentionPeriod 345600" % (stage, h), q["MessageRetentionPeriod"] == 345600)
        check("%s/%s: visibility timeout >= 6 x function timeout" % (stage, h),
              q["VisibilityTimeout"] >= 6 * f["Timeout"], "%s vs %s" % (q["VisibilityTimeout"], f["Timeout"]))
        rp = q["RedrivePolicy"]
        check("%s/%s: redrive after 3 receives" % (stage, h), rp["maxReceiveCount"] == 3)
        check("%s/%s: redrive to atd_vz_deadletter_queue" % (stage, h),
              rp["deadLetterTargetArn"]["Fn::Sub"].endswith(":atd_vz_deadletter_queue"))
        check("%s/%s: provided.al2023" % (stage, h), f["Runtime"] == "provided.al2023")
        check("%s/%s: x86_64" % (stage, h), f["Architectures"] == ["x86_64"])
        check("%s/%s: timeout from the settings" % (stage, h), f["Timeout"] == timeout)
        check("%s/%s: memory from the settings" % (stage, h), f["MemorySize"] == st["function"]["memoryMB"])
        check("%s/%s: reserved concurrency 5" % (stage, h), f["ReservedConcurrentExecutions"] == 5)
        check("%s/%s: environment from %s settings" % (stage, h, "staging's" if stage.startswith("pr_") else "its"),
              f["Environment"]["Variables"] == st["environment"])
        tags = {x["Key"]: x["Value"] for x in f["Tags"]}
        check("%s/%s: tags project and environment" % (stage, h),
              tags == {"project": "atd-vz-data", "environment": stage}, str(tags))
        check("%s/%s: JSON logs to its own log group" % (stage, h), f["LoggingConfig"]["LogFormat"] == "JSON")
        check("%s/%s: runs in the VPC of the database" % (stage, h),
              f["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}})
        check("%s/%s: code from the uploaded zip" % (stage, h),
              f["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}})
        mine = [v["Properties"] for v in esms.values() if v["Properties"]["FunctionName"] == {"Ref": fid[0]}]
        check("%s/%s: one mapping to its function" % (stage, h), len(mine) == 1)
        if mine:
            m = mine[0]
            check("%s/%s: mapping from its own queue" % (stage, h), m["EventSourceArn"] == {"Fn::GetAtt": [qid[0], "Arn"]})
            check("%s/%s: batch size 10" % (stage, h), m["BatchSize"] == 10)
            check("%s/%s: ReportBatchItemFailures" % (stage, h),
                  m["FunctionResponseTypes"] == ["ReportBatchItemFailures"])
            check("%s/%s: mapping enabled" % (stage, h), m["Enabled"] is True)
            check("%s/%s: mapping concurrency within the reserved concurrency" % (stage, h),
                  2 <= m["ScalingConfig"]["MaximumConcurrency"] <= f["ReservedConcurrentExecutions"])
        role = roles[f["Role"]["Fn::GetAtt"][0]]["Properties"]
        stmts = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        sqs = [s for s in stmts if any(a.startswith("sqs:") for a in s["Action"])]
        check("%s/%s: role: sqs receive/delete/attributes, nothing more" % (stage, h),
              len(sqs) == 1 and sorted(sqs[0]["Action"]) ==
              ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"])
        check("%s/%s: role: on its own queue only" % (stage, h),
              sqs and sqs[0]["Resource"] == {"Fn::GetAtt": [qid[0], "Arn"]})
        logs = [s for s in stmts if any(a.startswith("logs:") for a in s["Action"])]
        check("%s/%s: role: logs on its own log group only" % (stage, h),
              len(logs) == 1 and logs[0]["Resource"] != "*"
              and sorted(logs[0]["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"])
        wild = [s for s in stmts if s["Resource"] == "*"]
        check("%s/%s: role: only the ENI calls take Resource *" % (stage, h),
              all(all(a.startswith("ec2:") for a in s["Action"]) for s in wild))
        check("%s/%s: role: no wildcard action" % (stage, h),
              all("*" not in a for s in stmts for a in s["Action"]))
    # Every name in the stack carries its own stage; the other pull request's never appears.
    text = json.dumps(t)
    names = [v["Properties"].get(k) for v in t["Resources"].values()
             for k in ("QueueName", "FunctionName", "LogGroupName") if isinstance(v["Properties"].get(k), str)]
    check("%s: every named resource ends with _%s" % (stage, stage), all(n.endswith("_" + stage) for n in names))
    for other in templates:
        if other != stage:
            check("%s: never mentions stage %s" % (stage, other),
                  re.search(r"_%s\b" % re.escape(other), text) is None)

# Stage names map to stack names one to one; anything else is refused.
def stack(stage):
    r = subprocess.run([os.path.join(SRC, "deploy", "render"), "--stack-name", stage], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


check("pr_45 -> its own stack", stack("pr_45") == "atd-vz-data-events-pr-45")
check("pr_845 -> its own stack", stack("pr_845") == "atd-vz-data-events-pr-845")
check("staging -> its own stack", stack("staging") == "atd-vz-data-events-staging")
for bad in ("pr_045", "pr_", "pr_4 5", "pr_45;x", "staging2", "prod", "", "pr-45", "PR_45"):
    check("stage %r refused" % bad, stack(bad) is None)

# --- 2. the scripts, against the AWS CLI stand-in ----------------------------------
tmp = tempfile.mkdtemp()
env = dict(os.environ, PATH=os.path.join(SRC, "tests", "aws-standin") + ":" + os.environ["PATH"],
           AWS_STANDIN_DIR=os.path.join(tmp, "aws"), VZ_ARTIFACT_BUCKET="vz-artifacts", AWS_REGION="us-east-1")
zip_path = os.path.join(tmp, "vz-events.zip")
with open(zip_path, "wb") as f:
    f.write(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: the stand-in only stores it


def run(*args):
    r = subprocess.run([os.path.join(SRC, "scripts", args[0])] + list(args[1:]), env=env, capture_output=True,
                       text=True, cwd=SRC)
    return r.returncode, r.stdout + r.stderr


def calls():
    try:
        with open(os.path.join(tmp, "aws", "calls")) as f:
            return f.read().splitlines()
    except OSError:
        return []


def stacks():
    d = os.path.join(tmp, "aws", "stacks")
    return sorted(n for n in os.listdir(d) if "." not in n) if os.path.isdir(d) else []


rc, out = run("deploy", "pr_45", "--zip", zip_path)
check("deploy pr_45 succeeds", rc == 0, out)
c = calls()
check("deploy pr_45 uploads the zip", any(l.startswith("s3 cp") for l in c), str(c))
dep = [l for l in c if l.startswith("cloudformation deploy")]
check("deploy pr_45 deploys stack atd-vz-data-events-pr-45 only",
      len(dep) == 1 and "--stack-name atd-vz-data-events-pr-45 " in dep[0], str(dep))
check("deploy pr_45 tags environment=pr_45", dep and " environment=pr_45 " in dep[0] + " ")
check("deploy is create-or-update without failing on no change", dep and "--no-fail-on-empty-changeset" in dep[0])
check("deploy pr_45 leaves termination protection off", not any("termination-protection" in l for l in c))
with open(os.path.join(tmp, "aws", "stacks", "atd-vz-data-events-pr-45.template.json")) as f:
    check("the template deployed is the rendered one", json.load(f) == templates["pr_45"])
n = len(calls())
rc, out = run("deploy", "pr_45", "--zip", zip_path)
check("deploy pr_45 again succeeds", rc == 0, out)
check("deploy again does not upload the same zip twice", not any(l.startswith("s3 cp") for l in calls()[n:]))
rc, out = run("deploy", "pr_845", "--zip", zip_path)
check("deploy pr_845 succeeds", rc == 0, out)
rc, out = run("deploy", "staging", "--zip", zip_path)
check("deploy staging succeeds", rc == 0, out)
check("deploy staging turns termination protection on",
      any(l.startswith("cloudformation update-termination-protection --enable-termination-protection "
                       "--stack-name atd-vz-data-events-staging") for l in calls()))
check("three stacks exist", stacks() == ["atd-vz-data-events-pr-45", "atd-vz-data-events-pr-845",
                                         "atd-vz-data-events-staging"], str(stacks()))

for protected in ("staging", "production"):
    n = len(calls())
    rc, out = run("destroy", protected)
    check("destroy %s is refused" % protected, rc != 0 and "refusing" in out, out)
    check("destroy %s makes no AWS call at all" % protected, calls()[n:] == [])
for bad in ("pr_045", "pr_45x", "pr_", "45", "atd-vz-data-events-pr-45"):
    n = len(calls())
    rc, out = run("destroy", bad)
    check("destroy %r is refused" % bad, rc != 0 and calls()[n:] == [], out)

n = len(calls())
rc, out = run("destroy", "pr_45")
check("destroy pr_45 succeeds", rc == 0, out)
touched = set(re.findall(r"--stack-name (\S+)", "\n".join(calls()[n:])))
check("destroy pr_45 touches only stack atd-vz-data-events-pr-45", touched == {"atd-vz-data-events-pr-45"},
      str(touched))
check("destroy pr_45 deletes and waits",
      any(l.startswith("cloudformation delete-stack") for l in calls()[n:])
      and any(l.startswith("cloudformation wait stack-delete-complete") for l in calls()[n:]))
check("pr_845 and staging remain", stacks() == ["atd-vz-data-events-pr-845", "atd-vz-data-events-staging"],
      str(stacks()))
rc, out = run("destroy", "pr_45")
check("destroy pr_45 again: nothing to do", rc == 0 and "nothing to do" in out, out)
# A stack whose environment tag disagrees with its name is left alone.
with open(os.path.join(tmp, "aws", "stacks", "atd-vz-data-events-pr-7"), "w") as f:
    f.write("staging\n")
n = len(calls())
rc, out = run("destroy", "pr_7")
check("destroy refuses a stack tagged for another stage", rc != 0 and
      not any(l.startswith("cloudformation delete-stack") for l in calls()[n:]), out)

finish("deploy")
