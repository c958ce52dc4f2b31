#!/usr/bin/env python3
"""imds_server.py: a small local EC2 IMDSv2 (and ECS container credentials) server for tests.

Binds 127.0.0.1 on an ephemeral port and prints "PORT <n>" on stdout once it listens.

IMDSv2 as EC2 serves it: PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds)
returns a token; every GET needs X-aws-ec2-metadata-token with a live token, else 401.
  /latest/meta-data/iam/security-credentials/        -> the role name
  /latest/meta-data/iam/security-credentials/<role>  -> credentials JSON, new keys on every call,
                                                        expiring after --lifetime seconds
  /latest/meta-data/placement/region                 -> --region
  /latest/meta-data/instance-id                      -> --instance-id
Container credentials: GET /ecs/creds (needs "Authorization: <--container-token>" when given).

Test controls (no token needed):
  GET /_stats          -> JSON counters: token_puts, role_gets, creds_gets, unauthorized, failed
  GET /_fail/<n>       -> the next n credential requests (IMDS or container) answer 500
  GET /_expire_tokens  -> every token issued so far is forgotten (the next GET gets 401)
  GET /_stall/<s>      -> credential requests (the role and the credentials, IMDS or container)
                          arriving in the next <s> seconds are held until then, then answered
                          (the client has usually given up): an IMDS that stalls. Counted as
                          "stalled" in /_stats
Stops on SIGTERM, or with --watch-stdin when stdin closes (so a crashed test leaves no server).
With --issued-file F, every credentials document served is also appended to F as one JSON line
{"AccessKeyId", "SecretAccessKey", "Token", "Expiration": epoch seconds} (flushed before the
answer), so a test endpoint can verify signatures made with the keys handed out (cwl_front.py
--credentials-file).
"""
import argparse
import datetime
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {
    "tokens": set(),
    "serial": 0,
    "fail": 0,
    "stall_until": 0.0,
    "stats": {"token_puts": 0, "role_gets": 0, "creds_gets": 0, "unauthorized": 0, "failed": 0,
              "stalled": 0},
}
LOCK = threading.Lock()
ARGS = None


def creds_doc():
    with LOCK:
        STATE["serial"] += 1
        n = STATE["serial"]
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ARGS.lifetime)
    doc = {
        "Code": "Success",
        "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Type": "AWS-HMAC",
        "AccessKeyId": "ASIATEST%012d" % n,
        "SecretAccessKey": "secret/%d+%s" % (n, secrets.token_hex(8)),
        "Token": "token%d%s==" % (n, secrets.token_hex(16)),
        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if n % 2 else ".000+00:00"),
    }
    if ARGS.issued_file:
        line = json.dumps({k: doc[k] for k in ("AccessKeyId", "SecretAccessKey", "Token")} |
                          {"Expiration": int(exp.timestamp())}) + "\n"
        with LOCK:
            fd = os.open(ARGS.issued_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
    return doc


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, code, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stall(self):
        with LOCK:
            until = STATE["stall_until"]
            if time.time() < until:
                STATE["stats"]["stalled"] += 1
            else:
                until = 0
        if until:
            time.sleep(max(0.0, until - time.time()))

    def take_failure(self):
        with LOCK:
            if STATE["fail"] > 0:
                STATE["fail"] -= 1
                STATE["stats"]["failed"] += 1
                return True
        return False

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != "/latest/api/token":
            return self.reply(404, "not found")
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400, "missing ttl")
        tok = secrets.token_urlsafe(32)
        with LOCK:
            STATE["tokens"].add(tok)
            STATE["stats"]["token_puts"] += 1
        self.reply(200, tok)

    def do_GET(self):
        p = self.path
        if p == "/_stats":
            with LOCK:
                return self.reply(200, json.dumps(STATE["stats"]), "application/json")
        if p.startswith("/_fail/"):
            with LOCK:
                STATE["fail"] = int(p[len("/_fail/"):])
            return self.reply(200, "ok")
        if p.startswith("/_stall/"):
            with LOCK:
                STATE["stall_until"] = time.time() + float(p[len("/_stall/"):])
            return self.reply(200, "ok")
        if p == "/_expire_tokens":
            with LOCK:
                STATE["tokens"].clear()
            return self.reply(200, "ok")
        if p == "/ecs/creds" or p.startswith("/latest/meta-data/iam/security-credentials/"):
            self.stall()
        if p == "/ecs/creds":
            if ARGS.container_token and self.headers.get("Authorization") != ARGS.container_token:
                with LOCK:
                    STATE["stats"]["unauthorized"] += 1
                return self.reply(401, '{"code":"Unauthorized","message":"bad token"}')
            if self.take_failure():
                return self.reply(500, "boom")
            with LOCK:
                STATE["stats"]["creds_gets"] += 1
            return self.reply(200, json.dumps(creds_doc()), "application/json")
        with LOCK:
            ok = self.headers.get("X-aws-ec2-metadata-token") in STATE["tokens"]
            if not ok:
                STATE["stats"]["unauthorized"] += 1
        if not ok:
            return self.reply(401, "")
        base = "/latest/meta-data/iam/security-credentials/"
        if p == base:
            with LOCK:
                STATE["stats"]["role_gets"] += 1
            return self.reply(200, ARGS.role + "\n")
        if p == base + ARGS.role:
            if self.take_failure():
                return self.reply(500, "boom")
            with LOCK:
                STATE["stats"]["creds_gets"] += 1
            return self.reply(200, json.dumps(creds_doc(), indent=2), "text/plain")
        if p == "/latest/meta-data/placement/region":
            return self.reply(200, ARGS.region)
        if p == "/latest/meta-data/instance-id":
            return self.reply(200, ARGS.instance_id)
        return self.reply(404, "not found")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--lifetime", type=float, default=3600)
    ap.add_argument("--role", default="haf-test-role")
    ap.add_argument("--region", default="eu-central-1")
    ap.add_argument("--instance-id", default="i-0123456789abcdef0")
    ap.add_argument("--container-token", default="")
    ap.add_argument("--watch-stdin", action="store_true")
    ap.add_argument("--issued-file", help="append every credentials document served (JSON lines)")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())

    def watch_stdin():
        try:
            sys.stdin.read()
        except Exception:
            pass
        srv.shutdown()

    if ARGS.watch_stdin:
        threading.Thread(target=watch_stdin, daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
