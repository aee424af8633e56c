"""verifier.py -- an HTTP proxy that lets through only requests AWS would accept as signed (SigV4).

usage: /usr/bin/python3 verifier.py --backend http://127.0.0.1:PORT --port-file FILE --region R
                                    --access-key-id K --secret-access-key S [--session-token T]
                                    [--service sqs] [--log FILE]

Listens on 127.0.0.1 (a free port, written to FILE once it accepts) in front of a server that checks
no signature (local-aws-sqs), and for every request it receives rebuilds the signature from what it
actually received -- the method, path, query and body, and the headers named in SignedHeaders as they
arrived -- with botocore's signer (Debian's python3-botocore: SigV4Auth's canonical request, string
to sign and signature; only its list of headers never signed, such as Expect, is not applied, since
AWS signs whatever SignedHeaders names).  It refuses as AWS does, with AWS's codes, in the protocol the
request used (AWS JSON or the Query protocol's XML), and forwards the rest unchanged:
  - no Authorization                                   403 MissingAuthenticationToken
  - Authorization that is not AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature, no
    X-Amz-Date, host or x-amz-date not signed, or a header named in SignedHeaders that the request
    does not carry ("'expect' is named as a SignedHeader, but it does not exist in the HTTP request")
                                                       403 IncompleteSignature
  - an access key id other than the one given          403 InvalidClientTokenId
  - a session token expected and missing, or wrong, or one sent when none is expected
                                                       403 InvalidClientTokenId
  - a session token sent but not signed                403 IncompleteSignature
  - the credential scope's region, service or date not this server's / the request's
                                                       403 SignatureDoesNotMatch
  - X-Amz-Date more than 15 minutes from now           403 SignatureDoesNotMatch (Signature expired)
  - X-Amz-Content-SHA256 sent and not the body's       400 XAmzContentSHA256Mismatch
  - any other signature than the one recomputed        403 SignatureDoesNotMatch
Each request gives one JSON line in the log: its action, the verdict and the refusal's code (never a
credential, a signature or a body).  Stops on SIGTERM or SIGINT.
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import sys
import threading
import urllib.parse
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 +Credential=([^,/ ]+)/([0-9]{8})/([^/]+)/([^/]+)/aws4_request *, *"
    r"SignedHeaders=([a-z0-9;_.-]+) *, *Signature=([0-9a-f]{64})$"
)
MAX_SKEW = datetime.timedelta(minutes=15)


class Refused(Exception):
    """A request AWS would refuse: status, AWS error code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ExactSigner(SigV4Auth):
    """botocore's SigV4Auth, signing exactly the headers it is given (AWS signs whatever SignedHeaders names,
    Expect and User-Agent included; botocore's own requests leave those out, which is its choice)."""

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        return header_map


def verify(cfg, method, target, headers, body):
    """Raise Refused unless the request's SigV4 signature is the one its credentials give."""
    auth = headers.get("authorization")
    if auth is None:
        raise Refused(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    m = AUTH_RE.match(auth)
    if not m:
        raise Refused(
            403,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
            "for AWS4-HMAC-SHA256.",
        )
    key_id, scope_date, region, service, signed, signature = m.groups()
    amz_date = headers.get("x-amz-date")
    if amz_date is None:
        raise Refused(403, "IncompleteSignature", "Authorization header requires existence of a 'X-Amz-Date' header.")
    names = signed.split(";")
    for must in ("host", "x-amz-date"):
        if must not in names:
            raise Refused(403, "IncompleteSignature", f"Signed headers must include '{must}'.")
    if names != sorted(names) or len(set(names)) != len(names):
        raise Refused(403, "IncompleteSignature", "SignedHeaders must be sorted, lower case, each named once.")
    for name in names:
        if name not in headers:
            raise Refused(
                403,
                "IncompleteSignature",
                f"'{name}' is named as a SignedHeader, but it does not exist in the HTTP request",
            )
    if key_id != cfg.access_key_id:
        raise Refused(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token")
    if (token is None) != (cfg.session_token is None) or (
        token is not None and not hmac.compare_digest(token, cfg.session_token)
    ):
        raise Refused(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    if token is not None and "x-amz-security-token" not in names:
        raise Refused(403, "IncompleteSignature", "'x-amz-security-token' must be signed.")
    if region != cfg.region:
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            f"Credential should be scoped to a valid region. Expected '{cfg.region}', not '{region}'.",
        )
    if service != cfg.service:
        raise Refused(403, "SignatureDoesNotMatch", f"Credential should be scoped to correct service: '{cfg.service}'.")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise Refused(403, "IncompleteSignature", f"X-Amz-Date '{amz_date}' is not YYYYMMDDTHHMMSSZ.") from None
    if scope_date != amz_date[:8]:
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}'",
        )
    now = datetime.datetime.utcnow()
    if abs(now - when) > MAX_SKEW:
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            f"Signature expired: {amz_date} is now earlier or later than 15 min from "
            f"{now.strftime('%Y%m%dT%H%M%SZ')}.",
        )
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != hashlib.sha256(body).hexdigest():
        raise Refused(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match.")
    request = AWSRequest(
        method=method,
        url="http://" + headers["host"] + target,
        data=body,
        headers={name: headers[name] for name in names},
    )
    request.context["timestamp"] = amz_date
    signer = ExactSigner(Credentials(cfg.access_key_id, cfg.secret_access_key, cfg.session_token), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        # AWS's own wording, the canonical request it expected after a blank line (as AWS writes it).
        raise Refused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical}'\n",
        )


def error_body(json_protocol, code, message):
    """The error answer in the request's protocol: content type, body."""
    if json_protocol:
        return "application/x-amz-json-1.0", json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message})
    esc = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    xml = (
        '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{esc}</Message><Detail/></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return "text/xml", xml


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sigv4-verifier"

    def log_message(self, format, *args):  # the JSON line per request is the log
        pass

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def received_headers(self):
        """Every header as received, by lower-case name; repeated ones joined with ',' as HTTP allows."""
        out = {}
        for name in set(k.lower() for k in self.headers.keys()):
            out[name] = ",".join(self.headers.get_all(name))
        return out

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        cfg = self.server.cfg
        body = self.read_body()
        headers = self.received_headers()
        json_protocol = headers.get("content-type", "").startswith("application/x-amz-json")
        action = headers.get("x-amz-target", "")
        if not action and body:
            action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        line = {"method": self.command, "action": action}
        try:
            verify(cfg, self.command, self.path, headers, body)
        except Refused as r:
            line.update(verdict="refused", status=r.status, code=r.code, reason=r.message.split("\n")[0])
            self.server.note(line)
            ctype, text = error_body(json_protocol, r.code, r.message)
            extra = [("x-amzn-query-error", f"{r.code};Sender")] if json_protocol else []
            self.answer(r.status, [("Content-Type", ctype), ("x-amzn-RequestId", str(uuid.uuid4()))] + extra,
                        text.encode())
            return
        line["verdict"] = "verified"
        self.server.note(line)
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        for attempt in (1, 2):
            # One backend connection per client connection (this thread), kept alive as the client's is;
            # a kept one the backend closed meanwhile is opened again once.
            conn, fresh = getattr(self.server.local, "conn", None), False
            if conn is None:
                conn, fresh = http.client.HTTPConnection(cfg.backend_host, cfg.backend_port, timeout=120), True
                self.server.local.conn = conn
            try:
                conn.request(self.command, self.path, body=body, headers=fwd)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self.server.local.conn = None
                if fresh or attempt == 2:
                    self.answer(502, [("Content-Type", "text/plain")],
                                f"sigv4-verifier: the backend failed: {e}\n".encode())
                    return
                continue
            if resp.will_close:
                conn.close()
                self.server.local.conn = None
            keep = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
            self.answer(resp.status, keep, data)
            return

    do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cfg, log):
        super().__init__(("127.0.0.1", 0), Handler)
        self.cfg, self.log, self.lock, self.local = cfg, log, threading.Lock(), threading.local()

    def note(self, line):
        with self.lock:
            self.log.write(json.dumps(line) + "\n")
            self.log.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--service", default="sqs")
    p.add_argument("--access-key-id", required=True)
    p.add_argument("--secret-access-key", default=os.environ.get("VZ_VERIFIER_SECRET"))
    p.add_argument("--session-token", default=os.environ.get("VZ_VERIFIER_SESSION_TOKEN") or None)
    p.add_argument("--log", default=None)
    cfg = p.parse_args()
    if not cfg.secret_access_key:
        p.error("--secret-access-key (or VZ_VERIFIER_SECRET) is required")
    backend = urllib.parse.urlsplit(cfg.backend)
    cfg.backend_host, cfg.backend_port = backend.hostname, backend.port or 80
    log = open(cfg.log, "a", encoding="utf-8") if cfg.log else sys.stderr
    server = Server(cfg, log)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
    with open(cfg.port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(cfg.port_file + ".tmp", cfg.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
