#!/usr/bin/env python3
"""peer.py -- small real HTTP peers that misbehave on purpose, for tests/robust/robust.sh.

usage: peer.py MODE PORT_FILE LOG_FILE [ARGS...]
  runtime SPEC.json   a Lambda Runtime API: GET /next answers the invocations of SPEC (a list of
                      {"id", "deadline", "body"} with body a file name, id and deadline sent as
                      they are), then holds; POSTs are answered 202.
  sqs-front UPSTREAM FAULTS
                      an HTTP front for a real SQS server (one request per connection): the
                      first requests get the faults of
                      FAULTS (comma-separated: throttle = 400 ThrottlingException, 500, 503,
                      drop = the connection closed without an answer), the others are forwarded
                      to UPSTREAM as they are (signature included).
  sqs-overrun N       a stand-in SQS peer (not a real SQS) that breaks the protocol: the first
                      ReceiveMessage gets N messages whatever MaxNumberOfMessages says; later ones
                      get none.  GetQueueUrl, GetQueueAttributes and DeleteMessageBatch answer as
                      SQS does.
Every request is one JSON line in LOG_FILE: method, path, X-Amz-Target, what was done.  The
port (0 = any free one on 127.0.0.1) is written to PORT_FILE once listening.
"""
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE, PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
ARGS = sys.argv[4:]
lock = threading.Lock()
state = {"next": 0, "faults": [], "received": 0}


def log(entry):
    with lock, open(LOG_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: LOG_FILE has what matters
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self, code, payload=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if MODE == "sqs-front":
            # One request per connection: a dropped one is then always a failed attempt, never
            # repeated by curl itself (as it does when a kept-alive connection turns out dead).
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # ---- the Runtime API ----
    def runtime_get(self):
        spec = json.load(open(ARGS[0], encoding="utf-8"))
        with lock:
            i = state["next"]
            state["next"] += 1
        if i >= len(spec):
            log({"method": "GET", "path": self.path, "did": "hold"})
            time.sleep(3600)
            return
        inv = spec[i]
        payload = open(inv["body"], "rb").read()
        log({"method": "GET", "path": self.path, "did": "invocation %d" % i})
        self.send_response(200)
        # Raw bytes: the test wants ids with control characters through as they are.
        self._headers_buffer.append(("Lambda-Runtime-Aws-Request-Id: %s\r\n" % inv["id"]).encode("latin-1"))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(inv["deadline"]))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:peer")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def runtime_post(self):
        data = self.body()
        log({"method": "POST", "path": self.path, "body": data.decode("utf-8", "replace")})
        self.answer(202, b'{"status":"OK"}', [("Content-Type", "application/json")])

    # ---- SQS ----
    def sqs_front(self):
        data = self.body()
        target = self.headers.get("X-Amz-Target", "")
        with lock:
            fault = state["faults"].pop(0) if state["faults"] else "pass"
        log({"method": "POST", "target": target, "did": fault,
             "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")})
        if fault == "throttle":
            self.answer(400, b'{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}',
                        [("Content-Type", "application/x-amz-json-1.0")])
        elif fault in ("500", "503"):
            self.answer(int(fault), b'{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error."}',
                        [("Content-Type", "application/x-amz-json-1.0")])
        elif fault == "drop":
            self.close_connection = True
        else:
            req = urllib.request.Request(ARGS[0] + self.path, data=data, method="POST")
            # Host as the client sent it: it is signed (SigV4), and the verifier behind checks it.
            for k, v in self.headers.items():
                if k.lower() not in ("content-length", "connection"):
                    req.add_header(k, v)
            try:
                with urllib.request.urlopen(req, timeout=30) as up:
                    code, payload = up.status, up.read()
            except urllib.error.HTTPError as e:
                code, payload = e.code, e.read()
            self.answer(code, payload, [("Content-Type", "application/x-amz-json-1.0")])

    def sqs_overrun(self):
        req = json.loads(self.body() or b"{}")
        target = self.headers.get("X-Amz-Target", "").split(".")[-1]
        out = {}
        if target == "GetQueueUrl":
            out = {"QueueUrl": "http://127.0.0.1/000000000000/" + req.get("QueueName", "")}
        elif target == "GetQueueAttributes":
            out = {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:atd-vz-data-events-example_test",
                                  "VisibilityTimeout": "30"}}
        elif target == "ReceiveMessage":
            with lock:
                first = state["received"] == 0
                state["received"] += 1
            n = int(ARGS[0]) if first else 0
            if not first:
                time.sleep(0.5)
            out = {"Messages": [{"MessageId": "m-%02d" % i, "ReceiptHandle": "rh-%02d" % i,
                                 "Body": '{"n":%d}' % i, "MD5OfBody": "",
                                 "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                                                "SenderId": "peer", "ApproximateFirstReceiveTimestamp": "0"}}
                                for i in range(n)]}
            log({"target": target, "asked": req.get("MaxNumberOfMessages"), "sent": n})
        elif target == "DeleteMessageBatch":
            entries = req.get("Entries", [])
            log({"target": target, "handles": [e.get("ReceiptHandle") for e in entries]})
            out = {"Successful": [{"Id": e.get("Id")} for e in entries], "Failed": []}
        self.answer(200, json.dumps(out).encode(), [("Content-Type", "application/x-amz-json-1.0")])

    def do_GET(self):
        if MODE == "runtime":
            self.runtime_get()
        else:
            self.answer(404)

    def do_POST(self):
        if MODE == "runtime":
            self.runtime_post()
        elif MODE == "sqs-front":
            self.sqs_front()
        else:
            self.sqs_overrun()


if MODE == "sqs-front":
    state["faults"] = [f for f in ARGS[1].split(",") if f]
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402  (only for the atomic rename)
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
