#!/usr/bin/env python3
"""throttle_front.py: a byte-for-byte proxy on 127.0.0.1 in front of moto_server that refuses
chosen requests once, for tests of readers that must retry.

Every request is forwarded unchanged (headers included, so moto's SigV4 check still sees what
the client signed) and moto's answer relayed, except the requests picked by --fail OP:N:KIND
(repeatable): the N-th request (1-based) whose X-Amz-Target is Logs_20140328.OP is answered by us
instead, once:
  throttle  400, X-Amzn-Errortype ThrottlingException, {"__type": "ThrottlingException",
            "message": "Rate exceeded"} (what CloudWatch Logs answers)
  5xx       503 ServiceUnavailableException
GET /_front/stats returns {"requests": {OP: n}, "failed": [["OP", n, "kind"], ...]}.

  throttle_front.py --upstream URL [--fail OP:N:KIND]... [--port-file F] [--max-seconds S]

Prints "PORT <n>" once listening; exits after --max-seconds (default 600).
"""
import argparse
import collections
import http.client
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade"}


class Front:
    def __init__(self, upstream, fails):
        u = urllib.parse.urlsplit(upstream)
        self.host, self.port = u.hostname, u.port or 80
        self.fails = fails  # {(op, n): kind}
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.failed = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        front = self.server.front
        if self.path == "/_front/stats":
            with front.lock:
                body = json.dumps({"requests": front.counts, "failed": front.failed}).encode()
            self.answer(200, body, [("Content-Type", "application/json")])
        else:
            self.answer(404, b"")

    def do_POST(self):  # noqa: N802
        front = self.server.front
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        target = self.headers.get("X-Amz-Target", "")
        op = target.split(".", 1)[1] if "." in target else target
        with front.lock:
            front.counts[op] += 1
            kind = front.fails.pop((op, front.counts[op]), None)
            if kind:
                front.failed.append([op, front.counts[op], kind])
        if kind == "throttle":
            self.answer(400, b'{"__type":"ThrottlingException","message":"Rate exceeded"}',
                        [("Content-Type", "application/x-amz-json-1.1"),
                         ("X-Amzn-Errortype", "ThrottlingException")])
            return
        if kind == "5xx":
            self.answer(503, b'{"__type":"ServiceUnavailableException","message":"busy"}',
                        [("Content-Type", "application/x-amz-json-1.1")])
            return
        conn = http.client.HTTPConnection(front.host, front.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn.request("POST", self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = [(k, v) for k, v in resp.getheaders()
               if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        conn.close()
        self.answer(resp.status, data, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--fail", action="append", default=[])
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=600)
    a = ap.parse_args()
    fails = {}
    for f in a.fail:
        op, n, kind = f.split(":")
        if kind not in ("throttle", "5xx"):
            ap.error(f"unknown kind {kind}")
        fails[(op, int(n))] = kind
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.front = Front(a.upstream, fails)
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, a.port_file)
    print(f"PORT {port}", flush=True)
    if a.max_seconds > 0:
        threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
