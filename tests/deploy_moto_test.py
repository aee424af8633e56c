#!/usr/bin/env python3
"""deploy_moto_test.py -- scripts/deploy, destroy, status and logs run by a real CloudFormation engine.

usage: deploy_moto_test.py SOURCE_DIR ZIP

Starts moto's server (the machine's Python: moto 5.2.1, with boto3 and awscli 1.x;
they cannot be installed from the registries CI reaches, so .ci/run checks that they
are there) on a free loopback port, under a temporary folder, and points the scripts
at it with VZ_AWS_ENDPOINT_URL (scripts/aws-cli.sh).  The scripts call the real AWS
CLI; moto's CloudFormation engine creates, updates and deletes the resources, and
this test reads back what exists with boto3, resource by resource:

  deploy pr_845, then staging, then production (ZIP: the suite's packaged zip);
  every queue: name, redrive policy (its own stage's dead-letter queue, 3 receives),
    visibility timeout, retention, size, delay, tags; each stage's dead-letter queue;
  every function: runtime, architecture, handler, memory, timeout, reserved
    concurrency, environment (SSM and Secrets Manager values resolved), VPC
    settings, code hash (the zip's SHA-256) (moto does not apply a stack's tags to a
    function: deploy_test.py checks them in the template);
  every event source mapping: queue -> function, batch 10, ReportBatchItemFailures,
    maximum concurrency, enabled;
  every role: trusted by Lambda only, tagged, and its policy parsed and evaluated against
    every queue of every stage: a handler may receive from its own queue and no
    other, the reconcile from none, an endpoint may send to its environment's
    handler queues only;
  the reconcile rule (schedule, state) and its one target; the log groups and
    their retention;
  an unchanged redeploy executes nothing; a rotated secret updates exactly the
  functions that use it; --dry-run changes nothing; status reads every resource
  (a stage of more than 100 resources too) and never prints "None"; logs fails
  when every `aws logs tail` fails; destroy pr_845 removes exactly that stage, a
  second run does nothing, destroy staging is refused.

What moto cannot do stays in deploy_test.py against tests/aws-standin/aws (named a
stand-in): alarms and the function URL (moto skips AWS::CloudWatch::Alarm and
AWS::Lambda::Url), termination protection, the ROLLBACK_COMPLETE recovery (moto
never rolls back), the stack outputs after a change set (moto leaves them empty),
and `aws logs tail` printing lines (awscli 1.x has no `logs tail`).
"""
import ast
import atexit
import base64
import ctypes
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vzcheck import check, finish  # noqa: E402

import boto3  # noqa: E402  (the machine's Python; .ci/run checks it is there)

SRC = os.path.abspath(sys.argv[1])
ZIP = os.path.abspath(sys.argv[2])
PREFIX = "atd-vz-data-events-"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STAGES = ("pr_845", "staging", "production")
started = time.monotonic()
tmp = tempfile.mkdtemp(prefix="vz-moto-")

# --- moto's server, on a port the kernel picks ------------------------------------------------
log_path = os.path.join(tmp, "moto.log")


def server_setup():
    """In the server's process: its own group, and SIGTERM when this test dies, however it dies."""
    os.setsid()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                          stdout=open(log_path, "w"), stderr=subprocess.STDOUT, cwd=tmp,
                          preexec_fn=server_setup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit("deploy_moto: terminated"))  # so that atexit runs


def stop_server():
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


atexit.register(stop_server)  # whatever happens, the server goes with the test
endpoint = None
deadline = time.monotonic() + 60
while endpoint is None and time.monotonic() < deadline and server.poll() is None:
    m = re.search(r"Running on (http://127\.0\.0\.1:\d+)", open(log_path).read())
    if m:
        endpoint = m.group(1)
    else:
        time.sleep(0.2)
if endpoint is None:
    stop_server()
    sys.exit("deploy_moto: moto's server did not start:\n" + open(log_path).read())

env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION,
           AWS_CONFIG_FILE=os.path.join(tmp, "no-config"),
           AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "no-credentials"),
           VZ_AWS_ENDPOINT_URL=endpoint, VZ_ARTIFACT_BUCKET="vz-artifacts", HOME=tmp,
           VZ_SKIP_TERMINATION_PROTECTION="1")  # moto has none: the stand-in test checks it
kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
          aws_secret_access_key="testing")
cf, lam, sqs, iam, events, logs, s3, sm, ssm = (boto3.client(s, **kw) for s in (
    "cloudformation", "lambda", "sqs", "iam", "events", "logs", "s3", "secretsmanager", "ssm"))


def run(*args, root=SRC):
    """scripts/<args[0]> with the rest, against moto: (exit code, stdout+stderr)."""
    p = subprocess.run([os.path.join(root, "scripts", args[0])] + list(args[1:]), cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout + p.stderr


def render(stage, root=SRC):
    p = subprocess.run([os.path.join(SRC, "deploy", "render"), stage, "--root", root],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("render %s: %s" % (stage, p.stderr))
    return json.loads(p.stdout)


def of_type(t, typ):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == typ}


def stack(stage):
    return PREFIX + stage.replace("_", "-")


def settings(stage):
    name = "staging" if stage.startswith("pr_") else stage
    return json.load(open(os.path.join(SRC, "deploy", "stages", name + ".json")))


# --- the account: the bucket, the secrets and SSM parameters the settings name ----------------
s3.create_bucket(Bucket="vz-artifacts")
SECRETS = {}
SSM = {}
for e in ("staging", "production"):
    SECRETS["atd-vz-data/%s/vz-events-db" % e] = {"username": "vz_events_" + e, "password": "pw-%s-1" % e}
    SECRETS["atd-vz-data/%s/vz-events-hasura" % e] = {"HASURA_EVENT_API": "key-%s-1" % e}
    SSM["/atd-vz-data/%s/db-host" % e] = ("String", "db.%s.example" % e)
    SSM["/atd-vz-data/%s/db-name" % e] = ("String", "atd_vz_%s" % e)
    SSM["/atd-vz-data/%s/lambda-subnet-ids" % e] = ("StringList", "subnet-%s1,subnet-%s2" % (e[:4], e[:4]))
    SSM["/atd-vz-data/%s/lambda-security-group-ids" % e] = ("StringList", "sg-%s" % e[:4])
for sid, value in SECRETS.items():
    sm.create_secret(Name=sid, SecretString=json.dumps(value))
for name, (typ, value) in SSM.items():
    ssm.put_parameter(Name=name, Type=typ, Value=value)


def resolved(v):
    """A setting's value as the function must see it."""
    if isinstance(v, str):
        return v
    if "ssm" in v:
        return SSM[v["ssm"]][1]
    return SECRETS[v["secret"]][v["key"]]


def expected_env(stage, fprops):
    """The template's environment with every parameter resolved."""
    st = settings(stage)
    refs = {}
    for k, v in list(st.get("environment", {}).items()) + [("HASURA_EVENT_API", st["endpoint"]["hasuraKey"])]:
        if not isinstance(v, str):
            refs[k] = resolved(v)
    out = {}
    for k, v in fprops["Environment"]["Variables"].items():
        out[k] = v if isinstance(v, str) else refs[k]
    return out


with open(ZIP, "rb") as f:
    zip_sha_b64 = base64.b64encode(hashlib.sha256(f.read()).digest()).decode()
    zip_sha_hex = base64.b64decode(zip_sha_b64).hex()

# --- 1. deploy pr_845, then staging, then production ----------------------------------------------
templates = {}
timing = []
for stage in STAGES:
    t0 = time.monotonic()
    rc, out = run("deploy", stage, "--zip", ZIP)
    timing.append("deploy %s %.0f s" % (stage, time.monotonic() - t0))
    check("deploy %s succeeds against moto" % stage, rc == 0, out)
    check("deploy %s creates its stack by change set" % stage,
          "(CREATE, change set vz-events-" in out and "is up to date" in out, out)
    check("deploy %s prints each secret's version, never a value" % stage,
          "version " in out and not any(v in out for s in SECRETS.values() for v in s.values()), out)
    templates[stage] = render(stage)
    if rc != 0:
        stop_server()
        finish("deploy_moto")

# Every queue of every stage, by ARN: what the policies are evaluated against.
queue_urls = sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
queues = {}
for url in queue_urls:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    queues[a["QueueArn"]] = (url, a, sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))
all_functions = {}
for page in lam.get_paginator("list_functions").paginate():
    for f in page["Functions"]:
        all_functions[f["FunctionName"]] = f
all_esms = [m for page in lam.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]]


def qarn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def tags_of(stage):
    return {"project": "atd-vz-data", "environment": stage}


# --- a policy evaluator: explicit Deny wins, then any Allow; * and ? in Action and Resource -------
def listify(v):
    return v if isinstance(v, list) else [v]


def allowed(stmts, action, resource):
    def matches(s):
        return (any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listify(s["Action"]))
                and any(fnmatch.fnmatchcase(resource, r) for r in listify(s["Resource"])))
    if any(s["Effect"] == "Deny" and matches(s) for s in stmts):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in stmts)


RECEIVE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SQS_ACTIONS = RECEIVE + ("sqs:SendMessage", "sqs:PurgeQueue", "sqs:SetQueueAttributes", "sqs:DeleteQueue")
# Queues that could exist beside ours: a production handler whose name holds _pr_, the old shared DLQ.
hypothetical = [qarn(PREFIX + "x_pr_y_production"), qarn(PREFIX + "deadletter"), qarn("other-app-queue")]


def role_statements(fconf):
    role_name = fconf["Role"].rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    if isinstance(trust, str):
        trust = json.loads(trust)
    stmts = []
    for pname in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role_name, PolicyName=pname)["PolicyDocument"]
        if isinstance(doc, str):  # moto keeps a stack's inline policy as Python's repr of it
            doc = ast.literal_eval(doc)
        stmts += doc["Statement"]
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    tags = {x["Key"]: x["Value"] for x in iam.list_role_tags(RoleName=role_name)["Tags"]}
    return role_name, trust, stmts, attached, tags


# --- 2. what exists, resource by resource ---------------------------------------------------------
for stage in STAGES:
    t = templates[stage]
    st = settings(stage)
    fn = st["function"]
    res = {r["LogicalResourceId"]: r for page in cf.get_paginator("list_stack_resources").paginate(
        StackName=stack(stage)) for r in page["StackResourceSummaries"]}
    # moto skips these two types (a server-side warning); everything else must be there.
    skipped = {"AWS::CloudWatch::Alarm", "AWS::Lambda::Url"}
    want = {k for k, v in t["Resources"].items() if v["Type"] not in skipped}
    check("%s: the stack holds every resource of the template (but alarms and the URL, which moto skips)"
          % stage, want <= set(res) and all(res[k]["ResourceStatus"] == "CREATE_COMPLETE" for k in want),
          sorted(want - set(res)))
    s = cf.describe_stacks(StackName=stack(stage))["Stacks"][0]
    check("%s: stack tags project and environment" % stage,
          {x["Key"]: x["Value"] for x in s.get("Tags", [])} == tags_of(stage), s.get("Tags"))
    dlq_name = "%sdeadletter_%s" % (PREFIX, stage)
    dlq = queues.get(qarn(dlq_name))
    check("%s: its own dead-letter queue %s" % (stage, dlq_name), dlq is not None, sorted(queues))
    if dlq:
        check("%s: the dead-letter queue keeps 14 days, redrives nowhere, is tagged" % stage,
              dlq[1]["MessageRetentionPeriod"] == "1209600" and "RedrivePolicy" not in dlq[1]
              and dlq[2] == tags_of(stage), dlq)
    stage_queues = {a for a in queues if a.endswith("_" + stage)}
    handler_fns = {k[:-len("Function")]: v["Properties"] for k, v in of_type(t, "AWS::Lambda::Function").items()
                   if k not in ("EndpointFunction", "ReconcileFunction")}
    check("%s: exactly its handlers' queues and its dead-letter queue" % stage,
          stage_queues == {qarn(p["FunctionName"]) for p in handler_fns.values()} | {qarn(dlq_name)},
          sorted(stage_queues))
    for lid, fres in sorted(of_type(t, "AWS::Lambda::Function").items()):
        props = fres["Properties"]
        name = props["FunctionName"]
        conf = all_functions.get(name)
        check("%s: function %s exists" % (stage, name), conf is not None)
        if conf is None:
            continue
        got = lam.get_function(FunctionName=name)
        conf = got["Configuration"]
        check("%s/%s: runtime provided.al2023, x86_64, handler %s" % (stage, name, props["Handler"]),
              conf["Runtime"] == "provided.al2023" and conf.get("Architectures") == ["x86_64"]
              and conf["Handler"] == props["Handler"], conf)
        check("%s/%s: memory %d MB, timeout %d s" % (stage, name, props["MemorySize"], props["Timeout"]),
              conf["MemorySize"] == props["MemorySize"] and conf["Timeout"] == props["Timeout"], conf)
        check("%s/%s: reserved concurrency %d" % (stage, name, props["ReservedConcurrentExecutions"]),
              got.get("Concurrency", {}).get("ReservedConcurrentExecutions") == props["ReservedConcurrentExecutions"],
              got.get("Concurrency"))
        check("%s/%s: the environment, every SSM and secret value resolved" % (stage, name),
              conf.get("Environment", {}).get("Variables") == expected_env(stage, props),
              (conf.get("Environment"), expected_env(stage, props)))
        vpc = conf.get("VpcConfig") or {}
        if "VpcConfig" in props:
            e = "staging" if stage.startswith("pr_") else stage
            check("%s/%s: in the stage's subnets and security groups" % (stage, name),
                  vpc.get("SubnetIds") == SSM["/atd-vz-data/%s/lambda-subnet-ids" % e][1].split(",")
                  and vpc.get("SecurityGroupIds") == [SSM["/atd-vz-data/%s/lambda-security-group-ids" % e][1]], vpc)
        else:
            check("%s/%s: outside any VPC" % (stage, name), not vpc.get("SubnetIds"), vpc)
        check("%s/%s: the code is the zip (SHA-256)" % (stage, name), conf["CodeSha256"] == zip_sha_b64,
              conf["CodeSha256"])
        lg = "/aws/lambda/" + name
        groups = logs.describe_log_groups(logGroupNamePrefix=lg)["logGroups"]
        check("%s/%s: log group %s, %d days" % (stage, name, lg, fn["logRetentionDays"]),
              [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(lg, fn["logRetentionDays"])],
              groups)
        role_name, trust, stmts, attached, rtags = role_statements(conf)
        check("%s/%s: its role is trusted by Lambda only, has no managed policy, is tagged" % (stage, name),
              [x["Principal"] for x in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
              and not attached and rtags == tags_of(stage), (trust, attached, rtags))
        check("%s/%s: its role may write its own log group only" % (stage, name),
              allowed(stmts, "logs:PutLogEvents", "arn:aws:logs:%s:%s:log-group:%s" % (REGION, ACCOUNT, lg))
              and not allowed(stmts, "logs:PutLogEvents", "arn:aws:logs:%s:%s:log-group:/aws/lambda/%sother_%s"
                              % (REGION, ACCOUNT, PREFIX, stage)))
        reach = {(a, q) for q in list(queues) + hypothetical for a in SQS_ACTIONS if allowed(stmts, a, q)}
        if lid == "ReconcileFunction":
            check("%s/%s: the reconcile reaches no queue" % (stage, name), not reach, sorted(reach))
        elif lid == "EndpointFunction":
            every = list(queues) + hypothetical
            if stage == "production":
                mine = {q for q in every if q.endswith("_production") and "deadletter" not in q}
            else:
                mine = {q for q in every if (q.endswith("_staging") or "_pr_" in q) and not q.endswith("_production")
                        and "deadletter" not in q}
            check("%s/%s: the endpoint sends to its environment's handler queues, nothing else (%d queues)"
                  % (stage, name, len(mine)),
                  reach == {("sqs:SendMessage", q) for q in mine},
                  sorted(reach ^ {("sqs:SendMessage", q) for q in mine}))
        else:
            own = qarn(name)
            check("%s/%s: receives from its own queue and no other (of %d)" % (stage, name, len(queues) + 3),
                  reach == {(a, own) for a in RECEIVE}, sorted(reach))
            q = queues.get(own)
            check("%s/%s: queue exists" % (stage, name), q is not None)
            if q is None:
                continue
            rp = json.loads(q[1].get("RedrivePolicy", "{}"))
            check("%s/%s: redrive to its own stage's dead-letter queue after 3 receives" % (stage, name),
                  rp.get("deadLetterTargetArn") == qarn(dlq_name) and int(rp.get("maxReceiveCount", 0)) == 3, rp)
            check("%s/%s: visibility timeout %d s (6 x the function's)" % (stage, name, 6 * fn["timeoutSeconds"]),
                  q[1]["VisibilityTimeout"] == str(6 * fn["timeoutSeconds"]), q[1])
            check("%s/%s: queue retention 4 days, 256 KiB, no delay, tagged" % (stage, name),
                  (q[1]["MessageRetentionPeriod"], q[1]["MaximumMessageSize"], q[1]["DelaySeconds"])
                  == ("345600", "262144", "0") and q[2] == tags_of(stage), q)
            maps = [m for m in all_esms if m["FunctionArn"] == conf["FunctionArn"]]
            check("%s/%s: one event source mapping, from its own queue" % (stage, name),
                  [m["EventSourceArn"] for m in maps] == [own], maps)
            for m in maps:
                check("%s/%s: mapping batch 10, no window, ReportBatchItemFailures, at most %d at once, enabled"
                      % (stage, name, max(2, fn["reservedConcurrency"])),
                      m["BatchSize"] == 10 and m.get("MaximumBatchingWindowInSeconds", 0) == 0
                      and m.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
                      and m.get("ScalingConfig", {}).get("MaximumConcurrency") == max(2, fn["reservedConcurrency"])
                      and m["State"] == "Enabled", m)
    # The reconcile rule and its target.
    rname = "%sreconcile_%s" % (PREFIX, stage)
    rules = events.list_rules(NamePrefix=rname)["Rules"]
    check("%s: the reconcile rule %s, %s, enabled" % (stage, rname, st["reconcile"]["schedule"]),
          [(r["Name"], r.get("ScheduleExpression"), r["State"]) for r in rules]
          == [(rname, st["reconcile"]["schedule"], "ENABLED")], rules)
    targets = events.list_targets_by_rule(Rule=rname)["Targets"] if rules else []
    check("%s: the rule's one target is the reconcile function" % stage,
          [x["Arn"] for x in targets] == [all_functions.get(rname, {}).get("FunctionArn")], targets)
    check("%s: no event source mapping of another stage's queue calls this stage's functions" % stage,
          all(m["EventSourceArn"].endswith("_" + stage) for m in all_esms if m["FunctionArn"].endswith("_" + stage)))


def snapshot():
    """What a deploy could change: every function's code, settings and LastModified; every stack."""
    fns = {}
    for page in lam.get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            # moto keeps LastModified on a configuration update: the environment tells
            fns[f["FunctionName"]] = (f["LastModified"], f["CodeSha256"], f.get("RevisionId"),
                                      json.dumps(f.get("Environment"), sort_keys=True))
    stacks = {s["StackName"]: (s["StackStatus"], str(s.get("LastUpdatedTime")))
              for s in cf.describe_stacks()["Stacks"]}
    qs = sorted(sqs.list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", []))
    return fns, stacks, qs


def left_change_sets(stage, out):
    """The change set the deploy named in its output, if it is still there (moto keeps executed
    change sets, and lists every stack's whatever StackName says: hence by name)."""
    m = re.search(r"change set (vz-events-\d+)", out)
    return [c for c in cf.list_change_sets(StackName=stack(stage)).get("Summaries", [])
            if m is None or (c["StackName"] == stack(stage) and c["ChangeSetName"] == m.group(1))]


# --- 3. an unchanged redeploy executes nothing --------------------------------------------------
before = snapshot()
t0 = time.monotonic()
rc, out = run("deploy", "staging", "--zip", ZIP)
timing.append("unchanged redeploy %.0f s" % (time.monotonic() - t0))
check("an unchanged redeploy of staging says so and succeeds",
      rc == 0 and "no change: stack %s already is this template" % stack("staging") in out, out)
check("... and changes nothing (no function, stack or queue)", snapshot() == before)
check("... and leaves no change set behind", left_change_sets("staging", out) == [], left_change_sets("staging", out))

# --- 4. a rotated secret updates exactly the functions that use it -------------------------------
SECRETS["atd-vz-data/staging/vz-events-db"]["password"] = "pw-staging-2"
sm.put_secret_value(SecretId="atd-vz-data/staging/vz-events-db",
                    SecretString=json.dumps(SECRETS["atd-vz-data/staging/vz-events-db"]))
before = snapshot()
t0 = time.monotonic()
rc, out = run("deploy", "staging", "--zip", ZIP)
timing.append("rotated-secret redeploy %.0f s" % (time.monotonic() - t0))
check("deploy staging after the password's rotation succeeds", rc == 0 and "is up to date" in out, out)
after = snapshot()
uses = {p["FunctionName"] for p in (v["Properties"] for v in of_type(templates["staging"],
                                                                      "AWS::Lambda::Function").values())
        if "PGPASSWORD" in p["Environment"]["Variables"]}
changed = {n for n in after[0] if after[0][n] != before[0].get(n)}
check("the rotated password updated exactly the staging functions that use it (%d)" % len(uses),
      changed == uses and uses, (sorted(changed), sorted(uses)))
for n in sorted(uses):
    conf = lam.get_function_configuration(FunctionName=n)
    check("%s has the new password" % n, conf["Environment"]["Variables"].get("PGPASSWORD") == "pw-staging-2")
check("pr_845 still has the old one until it is deployed",
      lam.get_function_configuration(FunctionName=PREFIX + "crash_update_location_pr_845")
      ["Environment"]["Variables"]["PGPASSWORD"] == "pw-staging-1")

# --- 5. --dry-run changes nothing ---------------------------------------------------------------
SECRETS["atd-vz-data/production/vz-events-hasura"]["HASURA_EVENT_API"] = "key-production-2"
sm.put_secret_value(SecretId="atd-vz-data/production/vz-events-hasura",
                    SecretString=json.dumps(SECRETS["atd-vz-data/production/vz-events-hasura"]))
before = snapshot()
t0 = time.monotonic()
rc, out = run("deploy", "production", "--zip", ZIP, "--dry-run")
timing.append("dry run %.0f s" % (time.monotonic() - t0))
check("deploy production --dry-run after a rotation says nothing changed",
      rc == 0 and "dry run: change set" in out and "nothing was changed" in out, out)
check("... and changes nothing", snapshot() == before)
check("... and leaves no change set", left_change_sets("production", out) == [], left_change_sets("production", out))
check("... the endpoint keeps the old key", lam.get_function_configuration(
    FunctionName=PREFIX + "endpoint_production")["Environment"]["Variables"]["HASURA_EVENT_API"] == "key-production-1")

# --- 6. status, read-only: every resource, also past 100; no "None" -------------------------------
t0 = time.monotonic()
rc, out = run("status", "pr_845")
timing.append("status pr_845 %.0f s" % (time.monotonic() - t0))
check("status pr_845 succeeds", rc == 0, out)
for p in (v["Properties"] for v in of_type(templates["pr_845"], "AWS::Lambda::Function").values()):
    check("status pr_845 shows %s with the zip's SHA-256" % p["FunctionName"],
          re.search(r"%s\s+%s" % (re.escape(p["FunctionName"]), zip_sha_hex), out) is not None, out)
n_esm = len(of_type(templates["pr_845"], "AWS::Lambda::EventSourceMapping"))
check("status pr_845 shows its %d mappings enabled" % n_esm,
      len(re.findall(r"Enabled\s+%s\S+_pr_845" % PREFIX, out)) == n_esm, out)
check("status pr_845 shows each queue's depth, the dead-letter queue's too",
      all(re.search(r"%s\s+0\s+0" % re.escape(q.rsplit(":", 1)[1]), out) for q in queues if q.endswith("_pr_845")),
      out)
check("status pr_845 never prints None", "None" not in out, out)
t0 = time.monotonic()
rc, out = run("status", "staging")
timing.append("status staging %.0f s" % (time.monotonic() - t0))
check("status staging succeeds and says why there is no webhook URL, never None",
      rc == 0 and "None" not in out and re.search(r"webhook URL.*unknown", out) is not None, out)

# A stage of more than 100 resources (status once read only the first 100 and reported it short).
big = os.path.join(tmp, "big")
for d in ("deploy", "scripts", "handlers"):
    shutil.copytree(os.path.join(SRC, d), os.path.join(big, d), ignore=shutil.ignore_patterns("__pycache__"))
for i in range(20):
    d = os.path.join(big, "handlers", "gen%02d" % i)
    os.makedirs(d)
    open(os.path.join(d, "handler.c"), "w").write("/* generated */\n")
tbig = render("pr_7", big)
n_big = len([r for r in tbig["Resources"].values() if r["Type"] not in ("AWS::CloudWatch::Alarm", "AWS::Lambda::Url")])
t0 = time.monotonic()
rc, out = run("deploy", "pr_7", "--zip", ZIP, root=big)
check("deploy pr_7 of %d handlers (%d resources moto makes) succeeds"
      % (len(of_type(tbig, "AWS::Lambda::EventSourceMapping")), n_big), rc == 0 and n_big > 100, out)
rc, out = run("status", "pr_7", root=big)
timing.append("deploy and status of pr_7 (%d resources) %.0f s" % (n_big, time.monotonic() - t0))
fn_big = [v["Properties"]["FunctionName"] for v in of_type(tbig, "AWS::Lambda::Function").values()]
check("status pr_7 lists all %d functions of its %d resources" % (len(fn_big), n_big),
      rc == 0 and all(re.search(r"%s\s+%s" % (re.escape(f), zip_sha_hex), out) for f in fn_big),
      [f for f in fn_big if f not in out])
rc, out = run("destroy", "pr_7", root=big)
check("destroy pr_7 succeeds", rc == 0, out)

# --- 7. logs: awscli 1.x has no `logs tail`; every tail failing is a failure ------------------------
rc, out = run("logs", "pr_845")
check("logs pr_845 with every `aws logs tail` failing exits non-zero and says so",
      rc != 0 and "logs:" in out and "failed" in out, out)
rc, out = run("logs", "pr_845", "crash_update_location")
check("logs pr_845 HANDLER with `aws logs tail` failing exits non-zero", rc != 0, out)

# --- 8. destroy pr_845: exactly that stage; again: nothing; staging: refused -----------------------
before = snapshot()
roles_before = {r["RoleName"] for r in iam.list_roles()["Roles"]}
t0 = time.monotonic()
rc, out = run("destroy", "pr_845")
timing.append("destroy %.0f s" % (time.monotonic() - t0))
check("destroy pr_845 succeeds", rc == 0 and "stage pr_845 is gone" in out, out)
after = snapshot()
check("destroy pr_845 removed its stack only",
      set(before[1]) - set(after[1]) == {stack("pr_845")} and all(after[1][k] == before[1][k] for k in after[1]),
      (before[1], after[1]))
check("... its functions, no other", set(before[0]) - set(after[0]) ==
      {p["Properties"]["FunctionName"] for p in of_type(templates["pr_845"], "AWS::Lambda::Function").values()}
      and all(after[0][k] == before[0][k] for k in after[0]), sorted(set(before[0]) ^ set(after[0])))
check("... its queues (its dead-letter queue too), no other",
      {u.rsplit("/", 1)[1] for u in set(before[2]) - set(after[2])}
      == {u.rsplit("/", 1)[1] for u in before[2] if u.endswith("_pr_845")} and not any(
          u.endswith("_pr_845") for u in after[2]), sorted(set(before[2]) ^ set(after[2])))
roles_after = {r["RoleName"] for r in iam.list_roles()["Roles"]}
check("... its roles, no other", roles_before - roles_after
      and all(r.startswith(stack("pr_845") + "-") for r in roles_before - roles_after)
      and not any(r.startswith(stack("pr_845") + "-") for r in roles_after), sorted(roles_before ^ roles_after))
check("... its mappings, no other", not [m for page in lam.get_paginator("list_event_source_mappings").paginate()
                                         for m in page["EventSourceMappings"] if "_pr_845" in m["FunctionArn"]]
      and len([m for page in lam.get_paginator("list_event_source_mappings").paginate()
               for m in page["EventSourceMappings"]]) == len([m for m in all_esms if "_pr_845" not in m["FunctionArn"]]))
check("... its log groups, no other",
      not logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/" + PREFIX)["logGroups"] or not any(
          g["logGroupName"].endswith("_pr_845")
          for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/" + PREFIX)["logGroups"]))
check("... its reconcile rule, no other",
      sorted(r["Name"] for r in events.list_rules(NamePrefix=PREFIX)["Rules"])
      == [PREFIX + "reconcile_production", PREFIX + "reconcile_staging"])
rc, out = run("destroy", "pr_845")
check("destroy pr_845 again does nothing and succeeds", rc == 0 and "nothing to do" in out, out)
check("... and changes nothing", snapshot() == after)
rc, out = run("destroy", "staging")
check("destroy staging is refused", rc == 2 and "refusing to destroy staging" in out, out)
check("... and staging's stack is there", cf.describe_stacks(StackName=stack("staging"))["Stacks"][0]["StackStatus"]
      .endswith("_COMPLETE") and snapshot() == after)

stop_server()
warnings = sorted(set(re.findall(r"No Moto CloudFormation support for (\S+)", open(log_path).read())))
print("deploy_moto: moto skipped (server-side warning) %s; those stay in deploy_test.py's stand-in" % warnings)
print("deploy_moto: " + "; ".join(timing))
print("deploy_moto: %.0f s in all" % (time.monotonic() - started))
shutil.rmtree(tmp, ignore_errors=True)
finish("deploy_moto")
