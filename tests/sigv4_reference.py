"""sigv4_reference.py -- AWS's own answers for tests/test_sigv4.c, computed when the test runs.

usage: /usr/bin/python3 sigv4_reference.py < REQUEST.json
One JSON object in, one line out (or a JSON array of them, one line each):
  {"mode": "sha256", "hex": "..."}                     -> hashlib's SHA-256, hex
  {"mode": "hmac", "key": "..hex..", "hex": "..."}     -> the hmac module's HMAC-SHA-256, hex
  {"mode": "sign", "method", "url", "headers": {..}, "body", "key", "secret", "token" (optional),
   "region", "service"}                                 -> JSON {"amz_date", "authorization",
                                                           "canonical_request", "headers"}
"sign" runs botocore's SigV4Auth.add_auth (Debian's python3-botocore) on the request as given: the
signer stamps X-Amz-Date (and X-Amz-Security-Token) itself; the C side then signs the same headers
with that date and must produce the same Authorization, byte for byte.
"""
import hashlib
import hmac
import json
import sys


def answer(req):
    """Print the answer to one request."""
    mode = req["mode"]
    if mode == "sha256":
        print(hashlib.sha256(bytes.fromhex(req["hex"])).hexdigest())
    elif mode == "hmac":
        print(hmac.new(bytes.fromhex(req["key"]), bytes.fromhex(req["hex"]), hashlib.sha256).hexdigest())
    elif mode == "sign":
        sign(req)
    else:
        sys.exit("unknown mode " + mode)


def sign(req):
    """botocore's signature of the request, and what it signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class Recording(SigV4Auth):
        """SigV4Auth as it is, keeping the canonical request it signed."""

        def canonical_request(self, request):
            self.signed = super().canonical_request(request)
            return self.signed

    r = AWSRequest(method=req["method"], url=req["url"], data=req["body"].encode(), headers=req["headers"])
    auth = Recording(Credentials(req["key"], req["secret"], req.get("token")), req["service"], req["region"])
    auth.add_auth(r)
    print(
        json.dumps(
            {
                "amz_date": r.headers["X-Amz-Date"],
                "authorization": r.headers["Authorization"],
                "canonical_request": auth.signed,
                "headers": {k: v for k, v in r.headers.items()},
            }
        )
    )


doc = json.load(sys.stdin)
for one in doc if isinstance(doc, list) else [doc]:
    answer(one)
