"""tamper.py -- a relay that changes one byte of every request body on its way (tests/sigv4/verifier_test.sh).

usage: python3 tamper.py UPSTREAM_URL PORT_FILE
Listens on a free 127.0.0.1 port (written to PORT_FILE) and forwards each request to UPSTREAM_URL with
its headers and length unchanged and the case of the body's last letter swapped (a queue name, a
message: still valid JSON): what a signature must catch.  The answer comes back unchanged.
"""
import http.client
import http.server
import os
import sys
import urllib.parse

up = urllib.parse.urlsplit(sys.argv[1])


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        body = bytearray(self.rfile.read(int(self.headers.get("content-length") or 0)))
        letters = [i for i, c in enumerate(body) if chr(c).isalpha()]
        if letters:
            body[letters[-1]] ^= 0x20
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        conn.request("POST", self.path, body=bytes(body), headers=dict(self.headers.items()))
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
with open(sys.argv[2] + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
