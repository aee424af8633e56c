"""moto_test.py -- moto's server, its signature check on, accepts vz-events' SQS requests and refuses bad ones.

usage: python3 moto_test.py VZ_EVENTS          (the machine's python3: moto, boto3; see docs/testing.md)

Server: `moto_server` on a free 127.0.0.1 port with INITIAL_NO_AUTH_ACTION_COUNT=5: the first five
requests (boto3 making an IAM user, its policy, its access key, a role it may assume and the role's
sqs:* policy) go unchecked; every later
one must carry a SigV4 signature made with that key, which moto recomputes with botocore from the
headers it received.  Then, through src/sqs_client.c and src/sigv4.c (`vz-events dlq list`):
  - the user's key: GetQueueUrl, ReceiveMessage and ChangeMessageVisibility pass, the message boto3
    sent is listed;
  - temporary credentials from STS AssumeRole (key, secret, session token): pass;
  - a wrong secret: moto answers SignatureDoesNotMatch, and vz-events says that code;
  - the same temporary key without its session token: refused, and the code is said.
And libcurl's own signer with "Expect:" (what the SQS client did before) is refused by moto too.
moto missing is a failure, never a skip: CI's machine has it for its python3 and cannot install it.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

vz = sys.argv[1]
fails = []
passes = 0


def check(name, ok, detail=""):
    global passes
    if ok:
        passes += 1
    else:
        fails.append(name)
        print(f"FAIL: {name}" + (f"\n{detail}" if detail else ""), file=sys.stderr)


moto_server = shutil.which("moto_server")
try:
    import boto3
except ImportError:
    boto3 = None
if not moto_server or boto3 is None:
    print(
        f"FAIL: moto's server (moto_server) and boto3 are needed on {sys.executable}'s PATH: this machine's python3 "
        "has them preinstalled (pip cannot reach them from CI); see docs/testing.md",
        file=sys.stderr,
    )
    sys.exit(1)

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
endpoint = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp(prefix="vz-moto-")
log = open(os.path.join(tmp, "moto.log"), "w")
env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="5", AWS_ACCESS_KEY_ID="bootstrap", AWS_SECRET_ACCESS_KEY="x")
server = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env)
try:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    else:
        pass
    if server.poll() is not None:
        print(f"FAIL: moto_server exited ({server.returncode}); its log:\n" + open(log.name).read(), file=sys.stderr)
        sys.exit(1)

    region = "us-east-1"

    def client(service, key="bootstrap", secret="x", token=None):
        return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                            aws_secret_access_key=secret, aws_session_token=token)

    # The five unchecked requests: a user allowed sqs:* and sts:AssumeRole, its key, and a role it may
    # assume (as Lambda's execution role is assumed) allowed sqs:*.
    def allow(*actions):
        return json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})

    iam = client("iam")
    user = iam.create_user(UserName="vz-events")["User"]
    iam.put_user_policy(UserName="vz-events", PolicyName="sqs", PolicyDocument=allow("sqs:*", "sts:AssumeRole"))
    key = iam.create_access_key(UserName="vz-events")["AccessKey"]
    kid, secret = key["AccessKeyId"], key["SecretAccessKey"]
    role = iam.create_role(RoleName="vz-events-fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName="vz-events-fn", PolicyName="sqs", PolicyDocument=allow("sqs:*"))

    # From here on every request is checked; boto3's pass (its signer is botocore's).
    sqs = client("sqs", kid, secret)
    dlq = "atd-vz-data-events-deadletter_local"
    sqs.create_queue(QueueName=dlq)
    url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"event": {"op": "UPDATE"}, "id": "moto-1"}))

    def run(name, key_id, sec, token=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(AWS_ENDPOINT_URL_SQS=endpoint, AWS_REGION=region, AWS_ACCESS_KEY_ID=key_id,
                 AWS_SECRET_ACCESS_KEY=sec)
        if token:
            e["AWS_SESSION_TOKEN"] = token
        p = subprocess.run([vz, "dlq", "list", "--queue", dlq], env=e, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    rc, out, err = run("long-lived", kid, secret)
    check("our signature, long-lived key: vz-events dlq list succeeds", rc == 0, err)
    check("our signature: the message boto3 sent is listed", f"{dlq}: 1 messages" in out or "moto-1" in out,
          out + err)

    sts = client("sts", kid, secret)
    t = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="vz")["Credentials"]
    rc, out, err = run("temporary", t["AccessKeyId"], t["SecretAccessKey"], t["SessionToken"])
    check("our signature, STS key and session token: succeeds", rc == 0, err)

    rc, out, err = run("wrong secret", kid, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    check("a wrong secret: refused", rc != 0, out)
    check("a wrong secret: the error names SignatureDoesNotMatch", "SignatureDoesNotMatch" in err, err)
    check("a wrong secret: no bare SQS.HttpError", "SQS.HttpError" not in err, err)

    rc, out, err = run("no token", t["AccessKeyId"], t["SecretAccessKey"])
    check("an STS key without its session token: refused", rc != 0, out)
    check("an STS key without its session token: the error names moto's code",
          "InvalidClientTokenId" in err or "SignatureDoesNotMatch" in err, err)

    # libcurl 7.88's signer with "Expect:" names expect in SignedHeaders and sends none.
    p = subprocess.run(["curl", "-sS", "--noproxy", "*", "--aws-sigv4", f"aws:amz:{region}:sqs", "-u", f"{kid}:{secret}",
                        "-H", "Content-Type: application/x-amz-json-1.0", "-H", "X-Amz-Target: AmazonSQS.ListQueues",
                        "-H", "Expect:", "-d", "{}", "-o", os.path.join(tmp, "expect.out"), "-w", "%{http_code}",
                        endpoint + "/"], capture_output=True, text=True, timeout=30)
    check("libcurl's signer with Expect: refused by moto (403)", p.stdout == "403",
          p.stdout + open(os.path.join(tmp, "expect.out")).read())
finally:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    if fails:
        print("--- moto log (tail)\n" + "".join(open(log.name).readlines()[-30:]), file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)

print(f"SUITE: {passes} passed, {len(fails)} failed")
sys.exit(1 if fails else 0)
