#!/usr/bin/python3
"""deploy_test.py -- the deployment definition itself, and the scripts that apply it.

usage: deploy_test.py SOURCE_DIR

1. Renders the real template (deploy/render, the command scripts/deploy runs)
   for pr_45, pr_845, staging and production and checks every handler's queue,
   log group, role, function, mapping and alarm; the stage's own dead-letter
   queue, alarm topic and alarms; the endpoint of staging and production (its
   policy parsed and evaluated against every queue of every stage: exactly which
   ARNs it can reach); the scheduled reconcile; that example reaches pull-request
   stages only; and that nothing is resolved by dynamic reference.
2. Settings variants (a copy of the tree): alarm email subscribers, --fix,
   a dynamic reference refused, handler.conf deploy = none / pr, name collisions.
   (40 generated handler folders within every CloudFormation quota:
   deploy_quotas_test.py.)
3. scripts/deploy, destroy, status and logs against tests/aws-standin/aws, a
   STAND-IN for the AWS CLI that records the calls.  deploy_moto_test.py runs the
   same scripts against moto's server, a real CloudFormation engine, and reads
   back every resource; this stand-in keeps what moto cannot do: the alarms and
   the function URL (moto skips both), termination protection, the
   ROLLBACK_COMPLETE recovery (moto never rolls back), the webhook URL from the
   stack outputs (moto leaves them empty after a change set), a change set's
   Modify list, `logs tail` printing lines (awscli 1.x has none), failures on
   demand, and which calls are made.  Here: create-or-update by change set; an unchanged redeploy is an empty
   change set; a rotated secret changes exactly the functions that use it; the
   ROLLBACK_COMPLETE recovery; --dry-run; the webhook URL and header values
   printed; destroy of pr_45 deletes exactly its stack; status and logs only read.
4. scripts/new-handler's name rules.
"""
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from vzcheck import check, finish

SRC = os.path.abspath(sys.argv[1])
PREFIX = "atd-vz-data-events-"
STAGES = ("pr_45", "pr_845", "staging", "production")


def render_run(stage, root=SRC):
    return subprocess.run([os.path.join(SRC, "deploy", "render"), stage, "--root", root],
                          capture_output=True, text=True)


def render(stage, root=SRC):
    out = render_run(stage, root)
    if out.returncode != 0:
        raise SystemExit("render %s failed: %s" % (stage, out.stderr))
    return json.loads(out.stdout)


def conf_value(root, h, key, default):
    p = os.path.join(root, "handlers", h, "handler.conf")
    if not os.path.isfile(p):
        return default
    for line in open(p):
        line = line.split("#", 1)[0]
        if "=" in line and line.split("=", 1)[0].strip() == key:
            return line.split("=", 1)[1].strip()
    return default


def conf_mode(root, h):
    return conf_value(root, h, "deploy", "all")


def uses_db(h, root=SRC):
    return conf_value(root, h, "database", "yes") == "yes"


def handler_folders(root=SRC):
    h = os.path.join(root, "handlers")
    return sorted(n for n in os.listdir(h)
                  if any(os.path.isfile(os.path.join(h, n, f)) for f in ("handler.c", "update.sql")))


def deployed(stage, root=SRC):
    return [h for h in handler_folders(root)
            if conf_mode(root, h) == "all" or (conf_mode(root, h) == "pr" and stage.startswith("pr_"))]


def reconcilable(h, root=SRC):
    p = os.path.join(root, "handlers", h, "handler.c")
    return uses_db(h, root) and (not os.path.isfile(p) or re.search(r"\.rowsync\s*=", open(p).read()) is not None)


def of_type(t, typ):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == typ}


def settings(name, root=SRC):
    with open(os.path.join(root, "deploy", "stages", name + ".json")) as f:
        return json.load(f)


def resolved(t, v):
    """What a function's environment value stands for: a literal, ("ssm", name) or ("secret", id, key)."""
    if isinstance(v, str):
        return v
    p = v["Ref"]
    if t["Parameters"][p]["Type"] == "AWS::SSM::Parameter::Value<String>":
        return ("ssm", t["Parameters"][p]["Default"])
    ref = t["Metadata"]["SecretParameters"][p]
    assert t["Parameters"][p].get("NoEcho") is True, p
    return ("secret", ref["SecretId"], ref["JsonKey"])


def expected_env(st):
    out = {}
    for k, v in st["environment"].items():
        out[k] = v if isinstance(v, str) else ("ssm", v["ssm"]) if "ssm" in v else ("secret", v["secret"], v["key"])
    return out


def env_of(t, f):
    return {k: resolved(t, v) for k, v in f["Environment"]["Variables"].items()}


def statements(t, role_lid):
    role = t["Resources"][role_lid]["Properties"]
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def sub(v, account="123456789012", region="us-east-1"):
    """An ARN as IAM would see it in this account and region."""
    if isinstance(v, dict) and "Fn::Sub" in v:
        v = v["Fn::Sub"]
    return v.replace("${AWS::Partition}", "aws").replace("${AWS::Region}", region).replace("${AWS::AccountId}", account)


def can(stmts, action, resource):
    """IAM evaluation for one action on one ARN: an explicit Deny wins, else an Allow is needed."""
    def matches(s):
        acts = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        res = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        return (any(fnmatch.fnmatchcase(action, a) for a in acts)
                and any(isinstance(r, (str, dict)) and fnmatch.fnmatchcase(resource, sub(r)) for r in res))
    if any(s["Effect"] == "Deny" and matches(s) for s in stmts):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in stmts)


def alarms(t):
    return {v["Properties"]["AlarmName"]: v["Properties"] for v in of_type(t, "AWS::CloudWatch::Alarm").values()}


# --- 1. the templates ------------------------------------------------------------
helped = subprocess.run([os.path.join(SRC, "deploy", "render"), "--help"], capture_output=True, text=True)
check("render --help prints its usage and exits 0",
      helped.returncode == 0 and "usage: deploy/render STAGE [--root DIR]" in helped.stdout, helped.stderr)
check("a SQL-only handler folder (update.sql, no handler.c) is a handler folder",
      "crash_update_jurisdiction" in handler_folders()
      and not os.path.exists(os.path.join(SRC, "handlers", "crash_update_jurisdiction", "handler.c")))
templates = {s: render(s) for s in STAGES}
check("example is a pull-request-only handler", conf_mode(SRC, "example") == "pr")
check("example opens no database connection", not uses_db("example"))
queue_arn = "arn:aws:sqs:us-east-1:123456789012:"
all_queues = set()
for t in templates.values():
    for q in of_type(t, "AWS::SQS::Queue").values():
        all_queues.add(queue_arn + q["Properties"]["QueueName"])
# Queues that could exist beside ours: a production handler whose name held _pr_, the old shared DLQ.
all_queues |= {queue_arn + PREFIX + "x_pr_1_production", queue_arn + "atd_vz_deadletter_queue",
               queue_arn + PREFIX + "future_handler_production", queue_arn + PREFIX + "future_handler_pr_9",
               queue_arn + "other-app-queue_production"}

for stage, t in templates.items():
    pr = stage.startswith("pr_")
    st = settings("staging" if pr else stage)
    mine = deployed(stage)
    timeout = st["function"]["timeoutSeconds"]
    queues = of_type(t, "AWS::SQS::Queue")
    funcs = of_type(t, "AWS::Lambda::Function")
    esms = of_type(t, "AWS::Lambda::EventSourceMapping")
    roles = of_type(t, "AWS::IAM::Role")
    own_fns = len(mine) + (0 if pr else 1) + (1 if any(reconcilable(h) for h in mine) else 0)
    check("%s: one queue per deployed handler and the dead-letter queue" % stage, len(queues) == len(mine) + 1,
          str(len(queues)))
    check("%s: a function per handler, plus reconcile%s" % (stage, "" if pr else " and the endpoint"),
          len(funcs) == own_fns, str(sorted(f["Properties"]["FunctionName"] for f in funcs.values())))
    check("%s: one mapping per handler" % stage, len(esms) == len(mine))
    check("%s: one role per function" % stage, len(roles) == own_fns)
    check("%s: example %s" % (stage, "deployed (pull request)" if pr else "not deployed"),
          ("example" in mine) == pr and any(f["Properties"]["FunctionName"] == PREFIX + "example_" + stage
                                            for f in funcs.values()) == pr)
    allowed_types = {"AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::IAM::Role",
                     "AWS::Logs::LogGroup", "AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::Events::Rule",
                     "AWS::Lambda::Permission", "AWS::Lambda::Url"}
    check("%s: only the resource types of the design" % stage,
          all(r["Type"] in allowed_types for r in t["Resources"].values()),
          str({r["Type"] for r in t["Resources"].values()} - allowed_types))
    text = json.dumps(t)
    check("%s: no dynamic reference at all (quota 60 per template)" % stage, "{{resolve:" not in text)
    check("%s: no secret value or password literal in the template" % stage,
          all(not isinstance(v, str) for f in funcs.values()
              for k, v in f["Properties"]["Environment"]["Variables"].items() if k in ("PGPASSWORD", "HASURA_EVENT_API")))

    # The stage's own dead-letter queue.
    dlq = t["Resources"]["DeadLetterQueue"]
    check("%s: owns atd-vz-data-events-deadletter_%s" % (stage, stage),
          dlq["Type"] == "AWS::SQS::Queue" and dlq["Properties"]["QueueName"] == PREFIX + "deadletter_" + stage)
    check("%s: dead letters kept 14 days" % stage, dlq["Properties"]["MessageRetentionPeriod"] == 1209600)
    if pr:
        check("%s: the dead-letter queue goes with the stack" % stage,
              dlq.get("DeletionPolicy") == "Delete" and dlq.get("UpdateReplacePolicy") == "Delete")
    else:
        check("%s: the dead-letter queue outlives the stack, but not a failed first deploy" % stage,
              dlq.get("DeletionPolicy") == "RetainExceptOnCreate" and dlq.get("UpdateReplacePolicy") == "Retain")

    # The alarm topic and its subscribers.
    topic = t["Resources"]["AlarmTopic"]
    check("%s: alarm topic atd-vz-data-events-alarms_%s" % (stage, stage),
          topic["Type"] == "AWS::SNS::Topic" and topic["Properties"]["TopicName"] == PREFIX + "alarms_" + stage)
    want = st["alarms"]["pullRequestEmail" if pr else "email"]
    check("%s: subscribers from the settings" % stage,
          topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": e} for e in want])
    if pr:
        check("%s: a pull-request stage has no subscriber by default" % stage, topic["Properties"]["Subscription"] == [])
    al = alarms(t)
    check("%s: every alarm notifies the stage's topic, on ALARM and on OK" % stage,
          all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] and a["OKActions"] == [{"Ref": "AlarmTopic"}]
              for a in al.values()))
    check("%s: every alarm is named atd-vz-data-events-%s.<kind>.<what>" % (stage, stage),
          all(n.startswith(PREFIX + stage + ".") for n in al))
    check("%s: missing data is not a breach" % stage, all(a["TreatMissingData"] == "notBreaching" for a in al.values()))
    d = al.get(PREFIX + stage + ".deadletter.visible")
    check("%s: dead-letter alarm on its own dead-letter queue" % stage,
          d is not None and d["Namespace"] == "AWS/SQS" and d["MetricName"] == "ApproximateNumberOfMessagesVisible"
          and d["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
          and d["Threshold"] == 1 and d["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
          and d["Period"] == 300 and d["EvaluationPeriods"] == 1, str(d))
    for lid, f in funcs.items():
        e = [a for a in al.values() if a["MetricName"] == "Errors"
             and a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": lid}}]]
        check("%s/%s: an errors alarm (any in 5 minutes)" % (stage, f["Properties"]["FunctionName"]),
              len(e) == 1 and e[0]["Namespace"] == "AWS/Lambda" and e[0]["Statistic"] == "Sum"
              and e[0]["Threshold"] == 1 and e[0]["Period"] == 300 and e[0]["EvaluationPeriods"] == 1)

    for h in mine:
        name = "%s%s_%s" % (PREFIX, h, stage)
        qid = [k for k, v in queues.items() if v["Properties"]["QueueName"] == name]
        fid = [k for k, v in funcs.items() if v["Properties"]["FunctionName"] == name]
        check("%s/%s: queue named %s" % (stage, h, name), len(qid) == 1)
        check("%s/%s: function named %s" % (stage, h, name), len(fid) == 1)
        if len(qid) != 1 or len(fid) != 1:
            continue
        q = queues[qid[0]]["Properties"]
        f = funcs[fid[0]]["Properties"]
        check("%s/%s: function name within Lambda's 64" % (stage, h), len(name) <= 64)
        check("%s/%s: DelaySeconds 0" % (stage, h), q["DelaySeconds"] == 0)
        check("%s/%s: MaximumMessageSize 262144" % (stage, h), q["MaximumMessageSize"] == 262144)
        check("%s/%s: MessageRetentionPeriod 345600" % (stage, h), q["MessageRetentionPeriod"] == 345600)
        check("%s/%s: visibility timeout >= 6 x function timeout" % (stage, h),
              q["VisibilityTimeout"] >= 6 * f["Timeout"], "%s vs %s" % (q["VisibilityTimeout"], f["Timeout"]))
        rp = q["RedrivePolicy"]
        check("%s/%s: redrive after 3 receives" % (stage, h), rp["maxReceiveCount"] == 3)
        check("%s/%s: redrive to the stage's own dead-letter queue" % (stage, h),
              rp["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})
        check("%s/%s: provided.al2023" % (stage, h), f["Runtime"] == "provided.al2023")
        check("%s/%s: x86_64" % (stage, h), f["Architectures"] == ["x86_64"])
        check("%s/%s: Handler is the handler's name" % (stage, h), f["Handler"] == h)
        check("%s/%s: timeout from the settings" % (stage, h), f["Timeout"] == timeout)
        check("%s/%s: memory from the settings" % (stage, h), f["MemorySize"] == st["function"]["memoryMB"])
        check("%s/%s: reserved concurrency 5" % (stage, h), f["ReservedConcurrentExecutions"] == 5)
        env = env_of(t, f)
        check("%s/%s: VZ_STAGE=%s" % (stage, h, stage), env.pop("VZ_STAGE", None) == stage)
        if uses_db(h):
            check("%s/%s: environment from %s settings" % (stage, h, "staging's" if pr else "its"),
                  env == expected_env(st), str(env))
        else:
            check("%s/%s: database = no: no database setting, no password" % (stage, h), env == {}, str(env))
        tags = {x["Key"]: x["Value"] for x in f["Tags"]}
        check("%s/%s: tags project and environment" % (stage, h),
              tags == {"project": "atd-vz-data", "environment": stage}, str(tags))
        check("%s/%s: JSON logs to its own log group" % (stage, h), f["LoggingConfig"]["LogFormat"] == "JSON")
        if uses_db(h):
            check("%s/%s: runs in the VPC of the database" % (stage, h),
                  f.get("VpcConfig") == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}})
        else:
            check("%s/%s: database = no: outside the VPC" % (stage, h), "VpcConfig" not in f)
        check("%s/%s: code from the uploaded zip" % (stage, h),
              f["Code"] == {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}})
        m = [v["Properties"] for v in esms.values() if v["Properties"]["FunctionName"] == {"Ref": fid[0]}]
        check("%s/%s: one mapping to its function" % (stage, h), len(m) == 1)
        if m:
            m = m[0]
            check("%s/%s: mapping from its own queue" % (stage, h), m["EventSourceArn"] == {"Fn::GetAtt": [qid[0], "Arn"]})
            check("%s/%s: batch size 10" % (stage, h), m["BatchSize"] == 10)
            check("%s/%s: ReportBatchItemFailures" % (stage, h), m["FunctionResponseTypes"] == ["ReportBatchItemFailures"])
            check("%s/%s: mapping enabled" % (stage, h), m["Enabled"] is True)
            check("%s/%s: mapping concurrency within the reserved concurrency" % (stage, h),
                  2 <= m["ScalingConfig"]["MaximumConcurrency"] <= f["ReservedConcurrentExecutions"])
        stmts = statements(t, f["Role"]["Fn::GetAtt"][0])
        sqs = [s for s in stmts if any(a.startswith("sqs:") for a in s["Action"])]
        check("%s/%s: role: sqs receive/delete/attributes, nothing more" % (stage, h),
              len(sqs) == 1 and sorted(sqs[0]["Action"]) == ["sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                                             "sqs:ReceiveMessage"])
        check("%s/%s: role: on its own queue only" % (stage, h), sqs and sqs[0]["Resource"] == {"Fn::GetAtt": [qid[0], "Arn"]})
        logs = [s for s in stmts if any(a.startswith("logs:") for a in s["Action"])]
        check("%s/%s: role: logs on its own log group only" % (stage, h),
              len(logs) == 1 and logs[0]["Resource"] != "*"
              and sorted(logs[0]["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"])
        check("%s/%s: role: the ENI calls exactly when in the VPC" % (stage, h),
              any(s["Sid"] == "VpcNetworkInterfaces" for s in stmts) == ("VpcConfig" in f))
        wild = [s for s in stmts if s["Resource"] == "*"]
        check("%s/%s: role: only the ENI calls take Resource *" % (stage, h),
              all(all(a.startswith("ec2:") for a in s["Action"]) for s in wild))
        check("%s/%s: role: no wildcard action" % (stage, h), all("*" not in a for s in stmts for a in s["Action"]))
        check("%s/%s: role: cannot send to any queue" % (stage, h),
              not any(can(stmts, "sqs:SendMessage", a) for a in all_queues))
        drift = al.get("%s%s.drift.%s" % (PREFIX, stage, h))
        if reconcilable(h):
            check("%s/%s: drift alarm on VisionZero/Events Drift [Handler, Stage]" % (stage, h),
                  drift is not None and drift["Namespace"] == "VisionZero/Events" and drift["MetricName"] == "Drift"
                  and drift["Dimensions"] == [{"Name": "Handler", "Value": h}, {"Name": "Stage", "Value": stage}]
                  and drift["Threshold"] == st["reconcile"]["driftThreshold"]
                  and drift["ComparisonOperator"] == "GreaterThanThreshold", str(drift))
        else:
            check("%s/%s: no drift alarm (no row rule to reconcile)" % (stage, h), drift is None)

    # The scheduled reconcile.
    rec_handlers = [h for h in mine if reconcilable(h)]
    rf = t["Resources"].get("ReconcileFunction", {}).get("Properties")
    check("%s: the reconcile function atd-vz-data-events-reconcile_%s" % (stage, stage),
          rf is not None and rf["FunctionName"] == PREFIX + "reconcile_" + stage and rf["Handler"] == "reconcile")
    if rf:
        env = env_of(t, rf)
        check("%s: reconcile runs the handlers with a row rule" % stage,
              env.get("VZ_RECONCILE_HANDLERS") == ",".join(rec_handlers), env.get("VZ_RECONCILE_HANDLERS"))
        check("%s: reconcile reports only, by default" % stage, env.get("VZ_RECONCILE_FIX") == "0")
        check("%s: reconcile has the handlers' database settings" % stage,
              {k: v for k, v in env.items() if not k.startswith("VZ_RECONCILE_") and k != "VZ_STAGE"}
              == expected_env(st) and env.get("VZ_STAGE") == stage)
        check("%s: reconcile in the VPC, one at a time, its own timeout" % stage,
              rf["VpcConfig"] == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
              and rf["ReservedConcurrentExecutions"] == 1 and rf["Timeout"] == st["reconcile"]["timeoutSeconds"])
        rst = statements(t, rf["Role"]["Fn::GetAtt"][0])
        check("%s: reconcile's role: its logs and the ENI calls, no queue" % stage,
              not any(a.startswith("sqs:") for s in rst for a in s["Action"])
              and {s["Sid"] for s in rst} == {"OwnLogGroupOnly", "VpcNetworkInterfaces"})
        rule = t["Resources"]["ReconcileSchedule"]
        check("%s: an EventBridge schedule, nightly by default" % stage,
              rule["Type"] == "AWS::Events::Rule" and rule["Properties"]["ScheduleExpression"] == "cron(0 7 * * ? *)"
              and rule["Properties"]["State"] == "ENABLED"
              and rule["Properties"]["Targets"] == [{"Id": "reconcile",
                                                     "Arn": {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}}])
        perm = t["Resources"]["ReconcileSchedulePermission"]["Properties"]
        check("%s: only that rule may invoke reconcile" % stage,
              perm == {"FunctionName": {"Ref": "ReconcileFunction"}, "Action": "lambda:InvokeFunction",
                       "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": ["ReconcileSchedule", "Arn"]}})

    # The endpoint: staging and production only.
    ef = t["Resources"].get("EndpointFunction", {}).get("Properties")
    if pr:
        check("%s: no endpoint (pull requests go through staging's)" % stage,
              ef is None and "EndpointUrl" not in t["Resources"] and "WebhookUrl" not in t["Outputs"])
    else:
        check("%s: endpoint function atd-vz-data-events-endpoint_%s, Handler endpoint" % (stage, stage),
              ef is not None and ef["FunctionName"] == PREFIX + "endpoint_" + stage and ef["Handler"] == "endpoint")
        e = st["endpoint"]
        check("%s: endpoint sized for one SendMessage (memory, timeout, reserved concurrency)" % stage,
              ef["MemorySize"] == e["memoryMB"] == 128 and ef["Timeout"] == e["timeoutSeconds"] == 10
              and ef["ReservedConcurrentExecutions"] == e["reservedConcurrency"])
        check("%s: endpoint outside the VPC (SQS only)" % stage, "VpcConfig" not in ef)
        env = env_of(t, ef)
        check("%s: HASURA_EVENT_API from Secrets Manager" % stage,
              env.get("HASURA_EVENT_API") == ("secret", e["hasuraKey"]["secret"], e["hasuraKey"]["key"])
              and e["hasuraKey"]["secret"] == "atd-vz-data/%s/vz-events-hasura" % stage)
        check("%s: endpoint VZ_STAGE is its environment" % stage, env.get("VZ_STAGE") == stage)
        check("%s: endpoint knows the handlers its stage deploys" % stage,
              env.get("VZ_DEPLOYED_HANDLERS") == ",".join(mine), env.get("VZ_DEPLOYED_HANDLERS"))
        check("%s: no pull-request handler list (any handler name reaches a pull request's queue)" % stage,
              "VZ_DEPLOYED_PR_HANDLERS" not in env)
        check("%s: endpoint has no database settings" % stage, not any(k.startswith("PG") for k in env))
        check("%s: endpoint logs to its own log group" % stage,
              ef["LoggingConfig"]["LogGroup"] == {"Ref": "EndpointLogGroup"}
              and t["Resources"]["EndpointLogGroup"]["Properties"]["LogGroupName"] == "/aws/lambda/" + ef["FunctionName"])
        url = t["Resources"]["EndpointUrl"]
        check("%s: a Lambda function URL without IAM auth (Hasura sends the key header)" % stage,
              url["Type"] == "AWS::Lambda::Url" and url["Properties"] == {
                  "TargetFunctionArn": {"Fn::GetAtt": ["EndpointFunction", "Arn"]}, "AuthType": "NONE"})
        perms = [p["Properties"] for p in of_type(t, "AWS::Lambda::Permission").values()
                 if p["Properties"]["FunctionName"] == {"Ref": "EndpointFunction"}]
        check("%s: public invoke through the URL only" % stage, sorted(p["Action"] for p in perms) ==
              ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
              and all(p["Principal"] == "*" for p in perms)
              and all(p.get("FunctionUrlAuthType") == "NONE" or p.get("InvokedViaFunctionUrl") is True for p in perms))
        check("%s: the webhook URL is an output" % stage,
              t["Outputs"]["WebhookUrl"]["Value"] == {"Fn::Sub": "${EndpointUrl.FunctionUrl}events/"})
        # The endpoint's policy, evaluated for every queue of every stage.
        est = statements(t, "EndpointRole")
        reach = {a for a in all_queues if can(est, "sqs:SendMessage", a)}
        if stage == "production":
            want = {a for a in all_queues if a.startswith(queue_arn + PREFIX) and a.endswith("_production")
                    and not a.startswith(queue_arn + PREFIX + "deadletter_")}
        else:
            want = {a for a in all_queues if a.startswith(queue_arn + PREFIX)
                    and (a.endswith("_staging") or re.search(r"_pr_[0-9]+$", a))
                    and not a.startswith(queue_arn + PREFIX + "deadletter_")}
        check("%s: the endpoint can send to exactly its environment's queues" % stage, reach == want,
              "extra %s missing %s" % (sorted(reach - want), sorted(want - reach)))
        check("%s: ... which include every handler queue of its stage" % stage,
              all(queue_arn + "%s%s_%s" % (PREFIX, h, stage) in reach for h in mine))
        if stage == "staging":
            check("staging: ... and every pull-request stage's", all(queue_arn + "%s%s_%s" % (PREFIX, h, p) in reach
                                                                     for p in ("pr_45", "pr_845")
                                                                     for h in deployed(p)))
            check("staging: ... and no production queue", not any(a.endswith("_production") for a in reach))
        else:
            check("production: ... and no staging or pull-request queue",
                  not any(a.endswith("_staging") or re.search(r"_pr_[0-9]+$", a) for a in reach))
        check("%s: the endpoint reaches no dead-letter queue" % stage, not any("deadletter" in a for a in reach))
        check("%s: the endpoint cannot receive or delete messages" % stage,
              not any(can(est, act, a) for a in all_queues
                      for act in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue", "sqs:SetQueueAttributes")))
        check("%s: endpoint role: no database, no VPC, no wildcard resource on Allow" % stage,
              all(s["Resource"] != "*" for s in est if s["Effect"] == "Allow"))
        for status in ("403", "503"):
            a = al.get("%s%s.endpoint.%s" % (PREFIX, stage, status))
            check("%s: alarm on any endpoint %s in 5 minutes (EMF Requests)" % (stage, status),
                  a is not None and a["Namespace"] == "VisionZero/Events" and a["MetricName"] == "Requests"
                  and a["Dimensions"] == [{"Name": "Stage", "Value": stage}, {"Name": "Status", "Value": status}]
                  and a["Statistic"] == "Sum" and a["Period"] == 300 and a["EvaluationPeriods"] == 1
                  and a["Threshold"] == 1 and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", str(a))

    names = [v["Properties"].get(k) for v in t["Resources"].values()
             for k in ("QueueName", "FunctionName", "LogGroupName", "TopicName", "Name")
             if isinstance(v["Properties"].get(k), str)]
    check("%s: every named resource ends with _%s" % (stage, stage), all(n.endswith("_" + stage) for n in names), str(names))
    # The staging endpoint's explicit Deny of *_production is the one mention of another stage allowed.
    scrubbed = json.dumps({k: v for k, v in t["Resources"].items() if k != "EndpointRole"})
    if not pr:
        check("%s: the endpoint's Deny names only other environments' and dead-letter queues" % stage,
              all(s["Effect"] == "Allow" or all(sub(r).endswith(("_production", "deadletter_*")) for r in s["Resource"])
                  for s in statements(t, "EndpointRole")))
    for other in templates:
        if other != stage:
            check("%s: never mentions stage %s" % (stage, other),
                  re.search(r"_%s\b" % re.escape(other), scrubbed) is None)
    check("%s: rendering is deterministic" % stage, render(stage) == t)


def stack(stage):
    r = subprocess.run([os.path.join(SRC, "deploy", "render"), "--stack-name", stage], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


check("pr_45 -> its own stack", stack("pr_45") == "atd-vz-data-events-pr-45")
check("pr_845 -> its own stack", stack("pr_845") == "atd-vz-data-events-pr-845")
check("staging -> its own stack", stack("staging") == "atd-vz-data-events-staging")
for bad in ("pr_045", "pr_", "pr_4 5", "pr_45;x", "staging2", "prod", "", "pr-45", "PR_45", "pr_12345678"):
    check("stage %r refused" % bad, stack(bad) is None)


# --- 2. settings variants, on a copy of the tree ------------------------------------
def tree_copy():
    root = tempfile.mkdtemp()
    for d in ("deploy", "handlers", "scripts"):
        shutil.copytree(os.path.join(SRC, d), os.path.join(root, d), ignore=shutil.ignore_patterns("__pycache__"))
    return root


def edit_settings(root, name, fn):
    p = os.path.join(root, "deploy", "stages", name + ".json")
    s = json.load(open(p))
    fn(s)
    json.dump(s, open(p, "w"))


root = tree_copy()
edit_settings(root, "staging", lambda s: (s["alarms"].update(email=["a@example.org", "b@example.org"]),
                                          s["reconcile"].update(fix=True, schedule="rate(6 hours)")))
ts, tp = render("staging", root), render("pr_7", root)
check("alarm emails: staging's subscribers", ts["Resources"]["AlarmTopic"]["Properties"]["Subscription"] ==
      [{"Protocol": "email", "Endpoint": "a@example.org"}, {"Protocol": "email", "Endpoint": "b@example.org"}])
check("alarm emails: a pull-request stage still has none", tp["Resources"]["AlarmTopic"]["Properties"]["Subscription"] == [])
check("reconcile fix = true fixes in staging",
      ts["Resources"]["ReconcileFunction"]["Properties"]["Environment"]["Variables"]["VZ_RECONCILE_FIX"] == "1")
check("... but not in a pull-request stage (pullRequestFix)",
      tp["Resources"]["ReconcileFunction"]["Properties"]["Environment"]["Variables"]["VZ_RECONCILE_FIX"] == "0")
check("the schedule is a setting", ts["Resources"]["ReconcileSchedule"]["Properties"]["ScheduleExpression"] == "rate(6 hours)")
edit_settings(root, "staging", lambda s: s["alarms"].update(pullRequestEmail=["pr@example.org"]))
check("pullRequestEmail subscribes pull-request stages",
      render("pr_7", root)["Resources"]["AlarmTopic"]["Properties"]["Subscription"] ==
      [{"Protocol": "email", "Endpoint": "pr@example.org"}])
edit_settings(root, "staging", lambda s: s["alarms"].update(email=["not an address"]))
r = render_run("staging", root)
check("a bad email address is refused", r.returncode != 0 and "alarms.email" in r.stderr, r.stderr)
edit_settings(root, "staging", lambda s: (s["alarms"].update(email=[]),
                                          s["environment"].update(PGPASSWORD="{{resolve:secretsmanager:x:SecretString:p}}")))
r = render_run("staging", root)
check("a dynamic reference in the settings is refused", r.returncode != 0 and "dynamic reference" in r.stderr, r.stderr)
edit_settings(root, "staging", lambda s: s["environment"].update(PGPASSWORD={"secret": "atd-vz-data/staging/vz-events-db",
                                                                             "key": "password"}))
edit_settings(root, "staging", lambda s: s["environment"].update(PGSERVICE={"ssm": "/atd-vz-data/staging/db/host"}))
r = render_run("staging", root)
check("two SSM names that would share one template parameter are refused (db-host, db/host)", r.returncode != 0
      and "same template parameter" in r.stderr, r.stderr)
edit_settings(root, "staging", lambda s: s["environment"].update(PGSERVICE={"ssm": "/atd-vz-data/staging/db-host"}))
ts = render("staging", root)
check("... and one SSM name used twice is one parameter",
      [k for k, v in ts["Parameters"].items() if v.get("Default") == "/atd-vz-data/staging/db-host"]
      == ["SsmAtdVzDataStagingDbHost"]
      and ts["Resources"]["CrashUpdateLocationFunction"]["Properties"]["Environment"]["Variables"]["PGSERVICE"]
      == {"Ref": "SsmAtdVzDataStagingDbHost"})
edit_settings(root, "staging", lambda s: s["environment"].pop("PGSERVICE"))
edit_settings(root, "staging", lambda s: s["environment"].update(VZ_STAGE="production"))
r = render_run("staging", root)
check("VZ_STAGE cannot be set by the settings", r.returncode != 0 and "VZ_STAGE" in r.stderr, r.stderr)
edit_settings(root, "staging", lambda s: s["environment"].pop("VZ_STAGE"))
with open(os.path.join(root, "handlers", "crash_update_jurisdiction", "handler.conf"), "w") as f:
    f.write("# not yet\ndeploy = none   # trailing comment\ntable = whatever\nkey = crash_id\nvalue = austin_full_purpose\n")
t7 = render("pr_7", root)
check("deploy = none: in no stage",
      all(PREFIX + "crash_update_jurisdiction_" not in json.dumps(render(s, root)) for s in ("pr_7", "staging")))
check("deploy = none: the staging endpoint refuses it",
      "crash_update_jurisdiction" not in json.dumps(render("staging", root)["Resources"]["EndpointFunction"]))
check("deploy = none: not reconciled", "crash_update_jurisdiction" not in
      t7["Resources"]["ReconcileFunction"]["Properties"]["Environment"]["Variables"]["VZ_RECONCILE_HANDLERS"])
with open(os.path.join(root, "handlers", "crash_update_jurisdiction", "handler.conf"), "a") as f:
    f.write("database = no\n")
r = render_run("pr_7", root)
check("database = no is refused for a SQL-only handler", r.returncode != 0 and "SQL-only" in r.stderr, r.stderr)
with open(os.path.join(root, "handlers", "crash_update_jurisdiction", "handler.conf"), "w") as f:
    f.write("deploy = sometimes\n")
r = render_run("pr_7", root)
check("deploy = <anything else> is refused", r.returncode != 0 and "expected all, pr or none" in r.stderr, r.stderr)
shutil.copy(os.path.join(SRC, "handlers", "crash_update_jurisdiction", "handler.conf"),
            os.path.join(root, "handlers", "crash_update_jurisdiction", "handler.conf"))
os.makedirs(os.path.join(root, "handlers", "a__b"))
shutil.copy(os.path.join(root, "handlers", "example", "handler.c"), os.path.join(root, "handlers", "a__b"))
os.makedirs(os.path.join(root, "handlers", "a_b"))
shutil.copy(os.path.join(root, "handlers", "example", "handler.c"), os.path.join(root, "handlers", "a_b"))
r = render_run("pr_7", root)
check("two folders with one CloudFormation name are refused by name", r.returncode != 0 and "a__b" in r.stderr
      and "a_b" in r.stderr, r.stderr)
shutil.rmtree(os.path.join(root, "handlers", "a__b"))
shutil.rmtree(os.path.join(root, "handlers", "a_b"))
shutil.copytree(os.path.join(root, "handlers", "example"), os.path.join(root, "handlers", "reconcile"))
r = render_run("pr_7", root)
check("a folder with a reserved name is refused", r.returncode != 0 and "reserved" in r.stderr, r.stderr)
shutil.rmtree(root)

# --- 3. the scripts, against the AWS CLI stand-in --------------------------------------
tmp = tempfile.mkdtemp()
aws_dir = os.path.join(tmp, "aws")
env = dict(os.environ, PATH=os.path.join(SRC, "tests", "aws-standin") + ":" + os.environ["PATH"],
           AWS_STANDIN_DIR=aws_dir, VZ_ARTIFACT_BUCKET="vz-artifacts", AWS_REGION="us-east-1")
env.pop("AWS_STANDIN_FAIL_CREATE", None)
zip_path = os.path.join(tmp, "vz-events.zip")
with open(zip_path, "wb") as f:
    f.write(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: the stand-in only stores it
os.makedirs(os.path.join(aws_dir, "secrets"))
PASSWORDS = {"staging": "pw-staging-1-Zq", "production": "pw-production-1-Zq"}


def put_secret(sid, value):
    with open(os.path.join(aws_dir, "secrets", sid.replace("/", "%2F")), "w") as f:
        json.dump(value, f)


for e in ("staging", "production"):
    put_secret("atd-vz-data/%s/vz-events-db" % e, {"username": "vz_events", "password": PASSWORDS[e]})
    put_secret("atd-vz-data/%s/vz-events-hasura" % e, {"HASURA_EVENT_API": "hasura-key-%s-1" % e})


def run(*args, extra=None):
    r = subprocess.run([os.path.join(SRC, "scripts", args[0])] + list(args[1:]), env=dict(env, **(extra or {})),
                       capture_output=True, text=True, cwd=SRC)
    return r.returncode, r.stdout + r.stderr


def calls():
    try:
        with open(os.path.join(aws_dir, "calls")) as f:
            return f.read().splitlines()
    except OSError:
        return []


def stacks():
    d = os.path.join(aws_dir, "stacks")
    return sorted(n for n in os.listdir(d)) if os.path.isdir(d) else []


def stack_file(name, f):
    with open(os.path.join(aws_dir, "stacks", name, f)) as fh:
        return fh.read()


def stack_params(name):
    return {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(stack_file(name, "parameters.json"))}


def secrets_leaked(out):
    vals = list(PASSWORDS.values()) + ["hasura-key-staging-1", "hasura-key-production-1", "pw-staging-2-Zq",
                                        "hasura-key-staging-2"]
    return [v for v in vals if v in out or v in "\n".join(calls())]


rc, out = run("deploy", "pr_45", "--zip", zip_path)
check("deploy pr_45 (before staging) succeeds", rc == 0, out)
check("... and says staging's endpoint is not there yet", "deploy staging first" in out, out)
rc, out = run("deploy", "staging", "--zip", zip_path)
check("deploy staging succeeds", rc == 0, out)
c = calls()
check("deploy uploads the zip", any(l.startswith("s3 cp --only-show-errors %s s3://vz-artifacts/vz-events/" % zip_path)
                                    for l in c), str(c))
cs = [l for l in c if l.startswith("cloudformation create-change-set") and "atd-vz-data-events-staging " in l]
check("deploy staging: one CREATE change set from the template in S3",
      len(cs) == 1 and "--change-set-type CREATE" in cs[0] and "--template-url https://vz-artifacts.s3.amazonaws.com/"
      "vz-events/templates/atd-vz-data-events-staging-" in cs[0], str(cs))
check("deploy staging: tags environment=staging", cs and "Key=environment,Value=staging" in cs[0])
check("deploy staging: parameters from a file, never on the command line", cs and "--parameters file://" in cs[0])
check("deploy staging: executes and waits", any(l.startswith("cloudformation execute-change-set --stack-name "
                                                             "atd-vz-data-events-staging") for l in c)
      and any(l.startswith("cloudformation wait stack-create-complete --stack-name atd-vz-data-events-staging")
              for l in c))
check("deploy staging turns termination protection on",
      any(l.startswith("cloudformation update-termination-protection --enable-termination-protection "
                       "--stack-name atd-vz-data-events-staging") for l in c))
check("the template deployed is the rendered one",
      json.loads(stack_file("atd-vz-data-events-staging", "template.json")) == templates["staging"])
p = stack_params("atd-vz-data-events-staging")
check("the secret values reach CloudFormation as parameters",
      p.get("SecretAtdVzDataStagingVzEventsDbPassword") == PASSWORDS["staging"]
      and p.get("SecretAtdVzDataStagingVzEventsHasuraHasuraEventApi") == "hasura-key-staging-1", str(sorted(p)))
check("the code parameters name the zip by its SHA-256",
      re.fullmatch(r"vz-events/[0-9a-f]{64}\.zip", p.get("CodeS3Key", "")) and p.get("CodeS3Bucket") == "vz-artifacts")
check("no secret value in the output or on any command line", secrets_leaked(out) == [], str(secrets_leaked(out)))
url = re.search(r"Webhook URL: +(https://\S+)", out)
check("deploy staging prints the webhook URL", url is not None and url.group(1).endswith(".on.aws/events/"), out)
check("deploy staging prints the key header and where its value is",
      "header HASURA_EVENT_API:" in out and "atd-vz-data/staging/vz-events-hasura" in out)
check("deploy staging prints the event-name header of each handler it deploys",
      all("HASURA_EVENT_NAME: %s_staging" % h in out for h in deployed("staging")) and "example_staging" not in out)
check("no work file left behind", not any("parameters.json" in l and os.path.exists(l.split("file://")[1].split()[0])
                                          for l in calls() if "file://" in l))

rc, out = run("deploy", "pr_45", "--zip", zip_path)
check("deploy pr_45 again succeeds", rc == 0, out)
check("deploy pr_45 prints staging's webhook URL", url is not None and ("Webhook URL:        " + url.group(1)) in out, out)
check("deploy pr_45 prints its event names, example included",
      all("HASURA_EVENT_NAME: %s_pr_45" % h in out for h in deployed("pr_45")) and "example_pr_45" in out)
check("deploy pr_45 leaves termination protection off",
      not any("termination-protection" in l and "pr-45" in l for l in calls()))

# An unchanged redeploy is an empty change set: nothing is executed.
n = len(calls())
rc, out = run("deploy", "staging", "--zip", zip_path)
check("deploy staging unchanged succeeds", rc == 0, out)
check("... says there is no change", "no change" in out, out)
check("... does not upload the same zip twice", not any(l.startswith("s3 cp --only-show-errors " + zip_path)
                                                        for l in calls()[n:]))
check("... executes nothing and deletes the empty change set",
      not any(l.startswith("cloudformation execute-change-set") for l in calls()[n:])
      and any(l.startswith("cloudformation delete-change-set") for l in calls()[n:]))

# Secret rotation: the new value changes the parameter, hence exactly the functions using it.
put_secret("atd-vz-data/staging/vz-events-db", {"username": "vz_events", "password": "pw-staging-2-Zq"})
n = len(calls())
rc, out = run("deploy", "staging", "--zip", zip_path)
check("deploy after a database password rotation succeeds", rc == 0, out)
modified = set(re.findall(r"\|\s+Modify\s+\|\s+(\w+)\s+\|", out))
want = {k for k, v in templates["staging"]["Resources"].items() if v["Type"] == "AWS::Lambda::Function"
        and "PGPASSWORD" in v["Properties"]["Environment"]["Variables"]}
check("... the change set updates every function with the password, and only those", modified == want,
      "%s vs %s" % (sorted(modified), sorted(want)))
check("... and is executed", any(l.startswith("cloudformation execute-change-set") for l in calls()[n:]))
v1 = hashlib.md5(json.dumps({"username": "vz_events", "password": PASSWORDS["staging"]}).encode()).hexdigest()[:8]
v2 = hashlib.md5(json.dumps({"username": "vz_events", "password": "pw-staging-2-Zq"}).encode()).hexdigest()[:8]
check("... it names the secret's new version (never its value)",
      re.search(r"deploy: secret atd-vz-data/staging/vz-events-db: version %s-" % v2, out) is not None and v1 != v2, out)
check("... the stack has the new value",
      stack_params("atd-vz-data-events-staging")["SecretAtdVzDataStagingVzEventsDbPassword"] == "pw-staging-2-Zq")
put_secret("atd-vz-data/staging/vz-events-hasura", {"HASURA_EVENT_API": "hasura-key-staging-2"})
rc, out = run("deploy", "staging", "--zip", zip_path)
check("a rotated Hasura key updates the endpoint function alone",
      rc == 0 and set(re.findall(r"\|\s+Modify\s+\|\s+(\w+)\s+\|", out)) == {"EndpointFunction"}, out)
check("no rotated secret value in the output or on any command line", secrets_leaked(out) == [], str(secrets_leaked(out)))
put_secret("atd-vz-data/staging/vz-events-hasura", {"wrong_key": "x"})
rc, out = run("deploy", "staging", "--zip", zip_path)
check("a secret without its key fails the deploy, naming the parameter",
      rc != 0 and "SecretAtdVzDataStagingVzEventsHasuraHasuraEventApi" in out, out)
put_secret("atd-vz-data/staging/vz-events-hasura", {"HASURA_EVENT_API": "hasura-key-staging-2"})
n = len(calls())
rc, out = run("deploy", "staging", "--zip", zip_path, extra={"AWS_STANDIN_FAIL": "get-secret-value"})
check("a secret that cannot be read stops the deploy before any change set, naming it",
      rc != 0 and "cannot read secret atd-vz-data/staging/vz-events-" in out
      and not any(l.startswith("cloudformation create-change-set") for l in calls()[n:]), out)

# --dry-run: a change set printed, then deleted; nothing changes.
before = stack_file("atd-vz-data-events-pr-45", "template.json")
before_params = stack_params("atd-vz-data-events-pr-45")
n = len(calls())
put_secret("atd-vz-data/staging/vz-events-db", {"username": "vz_events", "password": "pw-staging-3-Zq"})
rc, out = run("deploy", "pr_45", "--zip", zip_path, "--dry-run")
dc = calls()[n:]
check("dry run of a change succeeds", rc == 0, out)
check("... prints the change set", "Modify" in out and "CrashUpdateLocationFunction" in out, out)
check("... deletes it and executes nothing",
      any(l.startswith("cloudformation delete-change-set --stack-name atd-vz-data-events-pr-45") for l in dc)
      and not any(l.startswith("cloudformation execute-change-set") for l in dc), str(dc))
check("... changes nothing", stack_file("atd-vz-data-events-pr-45", "template.json") == before
      and stack_params("atd-vz-data-events-pr-45") == before_params)
n = len(calls())
rc, out = run("deploy", "pr_7", "--zip", zip_path, "--dry-run")
check("dry run of a new stage: a CREATE change set printed", rc == 0 and "Add" in out, out)
check("... and no stack left behind (not even REVIEW_IN_PROGRESS)", "atd-vz-data-events-pr-7" not in stacks(), str(stacks()))
check("... nothing executed", not any(l.startswith("cloudformation execute-change-set") for l in calls()[n:]))

# ROLLBACK_COMPLETE: the first deploy failed; the next one deletes and creates again.
rc, out = run("deploy", "pr_9", "--zip", zip_path, extra={"AWS_STANDIN_FAIL_CREATE": "atd-vz-data-events-pr-9"})
check("a failed first deploy fails", rc != 0, out)
check("... and leaves ROLLBACK_COMPLETE", stack_file("atd-vz-data-events-pr-9", "status").strip() == "ROLLBACK_COMPLETE")
rc, out = run("deploy", "pr_9", "--zip", zip_path, "--dry-run")
check("a dry run says what a deploy would do with it, and does nothing",
      rc == 0 and "ROLLBACK_COMPLETE" in out and stack_file("atd-vz-data-events-pr-9", "status").strip() ==
      "ROLLBACK_COMPLETE", out)
n = len(calls())
rc, out = run("deploy", "pr_9", "--zip", zip_path)
rb = calls()[n:]
check("the next deploy recovers", rc == 0 and stack_file("atd-vz-data-events-pr-9", "status").strip() ==
      "CREATE_COMPLETE", out)
check("... and says so", "ROLLBACK_COMPLETE" in out and "deleting it and creating it again" in out, out)
idx = [i for i, l in enumerate(rb) if l.startswith("cloudformation delete-stack --stack-name atd-vz-data-events-pr-9")]
idc = [i for i, l in enumerate(rb) if l.startswith("cloudformation create-change-set") and "--change-set-type CREATE" in l]
check("... deletes, waits, then creates", idx and idc and idx[0] < idc[0]
      and any(l.startswith("cloudformation wait stack-delete-complete --stack-name atd-vz-data-events-pr-9") for l in rb))
os.makedirs(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-11"))
with open(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-11", "status"), "w") as f:
    f.write("ROLLBACK_COMPLETE\n")
with open(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-11", "env"), "w") as f:
    f.write("staging\n")
n = len(calls())
rc, out = run("deploy", "pr_11", "--zip", zip_path)
check("a ROLLBACK_COMPLETE stack tagged for another stage is not deleted",
      rc != 0 and "tagged environment=staging" in out and "atd-vz-data-events-pr-11" in stacks()
      and not any(l.startswith("cloudformation delete-stack") for l in calls()[n:]), out)
shutil.rmtree(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-11"))

rc, out = run("deploy", "pr_845", "--zip", zip_path)
check("deploy pr_845 succeeds", rc == 0, out)
rc, out = run("deploy", "staging", "--zip", zip_path, "--bogus")
check("an unknown option is refused", rc == 2, out)
rc, out = run("deploy", "pr_045", "--zip", zip_path)
check("a bad stage is refused before any AWS call", rc == 2, out)

# --- status and logs: read-only --------------------------------------------------------
READ_ONLY = re.compile(r"^(cloudformation (describe|list|get)-|lambda (get|list)-|sqs (get|list)-|"
                       r"cloudwatch describe-|logs (tail|describe|filter|get))")
os.makedirs(os.path.join(aws_dir, "sqs"), exist_ok=True)
with open(os.path.join(aws_dir, "sqs", PREFIX + "deadletter_pr_45"), "w") as f:
    f.write("7 0\n")
with open(os.path.join(aws_dir, "sqs", PREFIX + "crash_update_location_pr_45"), "w") as f:
    f.write("3 2\n")
with open(os.path.join(aws_dir, "sqs", PREFIX + "crash_update_location_pr_845"), "w") as f:
    f.write("999 999\n")
with open(os.path.join(aws_dir, "alarms-in-alarm"), "w") as f:
    f.write("%spr_45.deadletter.visible\n%spr_845.deadletter.visible\n" % (PREFIX, PREFIX))
t45 = json.loads(stack_file("atd-vz-data-events-pr-45", "template.json"))
esm_lid = "CrashUpdateJurisdictionEventSourceMapping"
h = hashlib.md5(("atd-vz-data-events-pr-45/" + esm_lid).encode()).hexdigest()
uuid = "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])
os.makedirs(os.path.join(aws_dir, "esm-disabled"), exist_ok=True)
open(os.path.join(aws_dir, "esm-disabled", uuid), "w").close()
n = len(calls())
rc, out = run("status", "pr_45")
sc = calls()[n:]
check("status pr_45 succeeds", rc == 0, out)
check("status makes read-only calls only", sc and all(READ_ONLY.match(l) for l in sc),
      str([l for l in sc if not READ_ONLY.match(l)]))
check("status touches stack atd-vz-data-events-pr-45 only",
      set(re.findall(r"--stack-name (\S+)", "\n".join(sc))) == {"atd-vz-data-events-pr-45"})
with open(zip_path, "rb") as f:
    zip_sha = hashlib.sha256(f.read()).hexdigest()
for fn in (v["Properties"]["FunctionName"] for v in of_type(t45, "AWS::Lambda::Function").values()):
    check("status shows %s with its zip's SHA-256" % fn, re.search(r"%s\s+%s" % (re.escape(fn), zip_sha), out), out)
check("status shows the disabled mapping as Disabled",
      re.search(r"Disabled\s+%scrash_update_jurisdiction_pr_45" % PREFIX, out) is not None, out)
check("status shows the other mappings Enabled",
      len(re.findall(r"Enabled\s+%s\S+_pr_45" % PREFIX, out)) == len(deployed("pr_45")) - 1, out)
check("status shows queue depths", re.search(r"%scrash_update_location_pr_45\s+3\s+2" % PREFIX, out) is not None, out)
check("status shows the dead-letter depth and how to look",
      re.search(r"%sdeadletter_pr_45\s+7\s+0\s+<- dead letters: vz-events dlq list --stage pr_45" % PREFIX, out), out)
check("status shows its own alarms in ALARM, not pr_845's",
      PREFIX + "pr_45.deadletter.visible" in out and "pr_845" not in out, out)
for failing in ("describe-alarms", "get-queue-attributes", "list-event-source-mappings", "list-functions",
                "list-stack-resources"):
    rc, out = run("status", "pr_45", extra={"AWS_STANDIN_FAIL": failing})
    check("status stops on a failed %s, with the error" % failing, rc != 0 and "AccessDenied" in out, out)
rc, out = run("status", "staging")
check("status staging shows the webhook URL and the endpoint function",
      rc == 0 and re.search(r"webhook URL \(the /events/ endpoint\): https://\S+\.lambda-url\.us-east-1\.on\.aws/events/", out)
      and PREFIX + "endpoint_staging" in out, out)
rc, out = run("status", "pr_99")
check("status of a stage without a stack fails clearly", rc != 0 and "no stack" in out, out)
rc, out = run("status", "prod")
check("status of a bad stage is refused", rc == 2, out)

os.makedirs(os.path.join(aws_dir, "logs"), exist_ok=True)
for fn in (v["Properties"]["FunctionName"] for v in of_type(t45, "AWS::Lambda::Function").values()):
    with open(os.path.join(aws_dir, "logs", ("/aws/lambda/" + fn).replace("/", "%2F")), "w") as f:
        f.write('2026-12-01T00:00:00 {"level":"INFO","message":"line of %s"}\n' % fn)
n = len(calls())
rc, out = run("logs", "pr_45", "crash_update_location")
lc = calls()[n:]
check("logs pr_45 crash_update_location follows that function's log group",
      rc == 0 and lc == ["logs tail /aws/lambda/%scrash_update_location_pr_45 --follow --since 10m --format short"
                         % PREFIX], str(lc))
check("... and prints its lines", "line of %scrash_update_location_pr_45" % PREFIX in out, out)
n = len(calls())
rc, out = run("logs", "pr_45", "--since", "1h")
lc = calls()[n:]
fns = sorted(v["Properties"]["FunctionName"] for v in of_type(t45, "AWS::Lambda::Function").values())
check("logs pr_45 follows every function of the stage",
      rc == 0 and sorted(re.findall(r"logs tail /aws/lambda/(\S+) --follow --since 1h", "\n".join(lc))) == fns, str(lc))
check("... each line prefixed with its function",
      all(("%s 2026" % f[len(PREFIX):]) in out for f in fns), out)
check("logs makes read-only calls only", all(READ_ONLY.match(l) for l in lc))
# One log group that cannot be followed (its tail fails): the others are followed, the failure
# is named, and the command fails at the end -- never a silent exit 0.
os.remove(os.path.join(aws_dir, "logs", ("/aws/lambda/%sexample_pr_45" % PREFIX).replace("/", "%2F")))
rc, out = run("logs", "pr_45")
check("logs pr_45 with one tail failing prints the others, names the failed one, exits 1",
      rc == 1 and "line of %scrash_update_location_pr_45" % PREFIX in out
      and "following /aws/lambda/%sexample_pr_45 failed" % PREFIX in out, out)
rc, out = run("logs", "pr_45", "example")
check("logs pr_45 example with its tail failing exits non-zero", rc != 0, out)
rc, out = run("logs", "staging", "example")
check("logs of a handler the stage does not deploy is refused", rc == 2 and "deploys no function" in out, out)
with open(os.path.join(aws_dir, "logs", ("/aws/lambda/%sendpoint_staging" % PREFIX).replace("/", "%2F")), "w") as f:
    f.write('2026-12-01T00:00:00 {"level":"WARN","message":"endpoint: 403 Forbidden Request"}\n')
n = len(calls())
rc, out = run("logs", "staging", "endpoint")
check("logs staging endpoint follows the endpoint's log group",
      rc == 0 and calls()[n:] == ["logs tail /aws/lambda/%sendpoint_staging --follow --since 10m --format short" % PREFIX]
      and "endpoint: 403" in out, out)
rc, out = run("logs", "pr_45", "endpoint")
check("a pull-request stage has no endpoint to follow", rc == 2 and "deploys no function" in out, out)

# --- destroy ----------------------------------------------------------------------------
for protected in ("staging", "production"):
    n = len(calls())
    rc, out = run("destroy", protected)
    check("destroy %s is refused" % protected, rc != 0 and "refusing" in out, out)
    check("destroy %s makes no AWS call at all" % protected, calls()[n:] == [])
for bad in ("pr_045", "pr_45x", "pr_", "45", "atd-vz-data-events-pr-45"):
    n = len(calls())
    rc, out = run("destroy", bad)
    check("destroy %r is refused" % bad, rc != 0 and calls()[n:] == [], out)
before = stacks()
n = len(calls())
rc, out = run("destroy", "pr_45")
check("destroy pr_45 succeeds", rc == 0, out)
touched = set(re.findall(r"--stack-name (\S+)", "\n".join(calls()[n:])))
check("destroy pr_45 touches only stack atd-vz-data-events-pr-45", touched == {"atd-vz-data-events-pr-45"}, str(touched))
check("destroy pr_45 deletes and waits",
      any(l.startswith("cloudformation delete-stack") for l in calls()[n:])
      and any(l.startswith("cloudformation wait stack-delete-complete") for l in calls()[n:]))
check("every other stack remains", stacks() == [s for s in before if s != "atd-vz-data-events-pr-45"], str(stacks()))
rc, out = run("destroy", "pr_45")
check("destroy pr_45 again: nothing to do", rc == 0 and "nothing to do" in out, out)
os.makedirs(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-7"))
with open(os.path.join(aws_dir, "stacks", "atd-vz-data-events-pr-7", "env"), "w") as f:
    f.write("staging\n")
n = len(calls())
rc, out = run("destroy", "pr_7")
check("destroy refuses a stack tagged for another stage", rc != 0 and
      not any(l.startswith("cloudformation delete-stack") for l in calls()[n:]), out)
shutil.rmtree(tmp)

# --- 4. scripts/new-handler's name rules -------------------------------------------------
root = tree_copy()
subprocess.run(["git", "init", "-q", root], check=True)


def new_handler(name):
    r = subprocess.run([os.path.join(root, "scripts", "new-handler"), name], capture_output=True, text=True, cwd=root)
    return r.returncode, r.stdout + r.stderr


longest = "a" * 34
for name, why in (("a__b", "__"), ("a_", "ends with _"), ("_a", "starting with a letter"), ("bootstrap", "reserved"),
                  ("deadletter", "reserved"), ("reconcile", "reserved"), ("endpoint", "reserved"),
                  ("dead_letter", "DeadLetterQueue"), ("crash_pr_fix", "'pr'"), ("x_staging", "'staging'"),
                  (longest + "b", "35 characters"), ("Hello", "lower-case"), ("a-b", "lower-case")):
    rc, out = new_handler(name)
    check("new-handler %s is refused (%s)" % (name, why), rc == 2 and why in out
          and not os.path.exists(os.path.join(root, "handlers", name)), out)
rc, out = new_handler(longest)
check("new-handler accepts a 34-character name", rc == 0 and os.path.isdir(os.path.join(root, "handlers", longest)), out)
fn = "%s%s_pr_9999999" % (PREFIX, longest)
check("... whose longest function name is exactly 64", len(fn) == 64)
t = render("pr_9999999", root)
check("... and it renders in the longest pull-request stage",
      any(f["Properties"]["FunctionName"] == fn for f in of_type(t, "AWS::Lambda::Function").values()))
os.makedirs(os.path.join(root, "handlers", "q_r"))  # an existing folder (no handler.c yet)
rc, out = new_handler("q_r")
check("new-handler refuses an existing folder", rc != 0, out)
shutil.rmtree(root)

finish("deploy")
