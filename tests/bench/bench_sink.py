#!/usr/bin/env python3
"""bench_sink.py: a light CloudWatch Logs sink on 127.0.0.1 for benchmarks (stores nothing).

tests/tools/cwl_front.py checks every rule of every event in Python (about 1.5-2 us of CPU per
event), so at the daemon's speed it would be the bottleneck and its CPU would compete with the
daemon's on a 2-core machine. This sink does the least a benchmark needs, with C-speed scans:

- HTTP/1.1 keep-alive, one thread per connection, Content-Length bodies only.
- Every request: POST /, Content-Type application/x-amz-json-1.1, X-Amz-Target Logs_20140328.<Op>,
  X-Amz-Date (yyyymmddThhmmssZ) and an Authorization header of the AWS4-HMAC-SHA256 shape
  (Credential=.../logs/aws4_request, SignedHeaders including content-type;host;x-amz-date;
  x-amz-target, a 64-hex Signature). The signature is not recomputed (that would cost as much
  SHA-256 as the daemon spends). A failed check is a violation: counted, answered 400.
- PutLogEvents: the body must be {"logGroupName":"G","logStreamName":"S",...,"logEvents":[...]}
  ending in "]}"; events are counted with bytes.count(b'{"timestamp":'), exact because inside a
  JSON string every '"' is escaped. --full-parse parses every body with json instead (slower).
- Other operations: CreateLogGroup, CreateLogStream, PutRetentionPolicy answer {}; GetLogEvents
  answers no events; DescribeLogStreams answers none.

Latency mode (--latency): every PutLogEvents body is parsed, each message's "usecs" and
"sequence_no" read, and after the answer is written the sink records, per event, ack time (us,
CLOCK_REALTIME) minus usecs. GET /_front/latency returns count, unique (reboot, seq) pairs,
duplicates, p50/p90/p99/max in ms. Use it with entries whose usecs is their write time.

Control: GET /_front/stats (requests, by operation, events, bytes, violations, per-stream events,
CPU user/system seconds of this process since the last reset, max RSS), POST /_front/reset-stats,
GET /_front/health. TLS mode (--tls-cert and --tls-key, PEM): every connection is TLS (the
bench scripts make a test CA with the openssl CLI); stats count handshakes and resumed sessions.
Prints "PORT <n>" once listening (and writes --port-file atomically). Exits
after --max-seconds (default 1800).
"""
import argparse
import json
import os
import re
import resource
import socket
import ssl
import sys
import threading
import time

AUTH_RE = re.compile(
    rb"AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/logs/aws4_request,"
    rb"\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=[0-9a-f]{64}\Z")
DATE_RE = re.compile(rb"\d{8}T\d{6}Z\Z")
PREFIX_RE = re.compile(rb'\{"logGroupName":"((?:[^"\\]|\\.)*)","logStreamName":"((?:[^"\\]|\\.)*)"')
NEEDED_SIGNED = {b"content-type", b"host", b"x-amz-date", b"x-amz-target"}
TARGET_PREFIX = b"Logs_20140328."
EVENT_MARK = b'{"timestamp":'
MAX_BODY = 8 * 1024 * 1024


class Sink:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.latency = []  # ms per event
        self.seen = set()
        self.dups = 0
        self.reset()

    def reset(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with self.lock:
            self.cpu0 = (ru.ru_utime, ru.ru_stime)
            self.st = {"requests": 0, "requests_by_op": {}, "events": 0, "bytes": 0,
                       "violations": 0, "violation_samples": [], "stream_events": {},
                       "max_events_in_request": 0, "connections": 0}
            self.latency = []
            self.seen = set()
            self.dups = 0
            self.t0 = time.time()

    def violation(self, what):
        with self.lock:
            self.st["violations"] += 1
            if len(self.st["violation_samples"]) < 20:
                self.st["violation_samples"].append(what[:200])

    def stats(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with self.lock:
            out = json.loads(json.dumps(self.st))
        out["cpu_user_seconds"] = round(ru.ru_utime - self.cpu0[0], 6)
        out["cpu_system_seconds"] = round(ru.ru_stime - self.cpu0[1], 6)
        out["cpu_seconds"] = round(out["cpu_user_seconds"] + out["cpu_system_seconds"], 6)
        out["max_rss_kib"] = ru.ru_maxrss
        out["seconds_since_reset"] = round(time.time() - self.t0, 3)
        return out

    def latency_stats(self):
        with self.lock:
            lat = sorted(self.latency)
            out = {"count": len(lat), "unique": len(self.seen), "duplicates": self.dups}
        if lat:
            def pct(p):
                return round(lat[min(len(lat) - 1, int(p * len(lat)))], 3)
            out.update(p50_ms=pct(0.50), p90_ms=pct(0.90), p99_ms=pct(0.99),
                       max_ms=round(lat[-1], 3), min_ms=round(lat[0], 3))
        return out


def answer(conn, status, body, extra=b""):
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 411: b"Length Required",
              413: b"Payload Too Large"}.get(status, b"Error")
    head = (b"HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n%s"
            b"Content-Length: %d\r\n\r\n" % (status, reason, extra, len(body)))
    conn.sendall(head + body)


def api_error(conn, etype, msg):
    answer(conn, 400, json.dumps({"__type": etype, "message": msg}).encode(),
           b"X-Amzn-Errortype: " + etype.encode() + b"\r\n")


def check_headers(sink, h):
    """None when the request looks like a signed CloudWatch Logs call, else what is wrong."""
    if h.get(b"content-type") != b"application/x-amz-json-1.1":
        return "content-type"
    tgt = h.get(b"x-amz-target", b"")
    if not tgt.startswith(TARGET_PREFIX):
        return "x-amz-target"
    if not DATE_RE.match(h.get(b"x-amz-date", b"")):
        return "x-amz-date"
    m = AUTH_RE.match(h.get(b"authorization", b""))
    if not m:
        return "authorization"
    signed = set(m.group(1).split(b";"))
    if not NEEDED_SIGNED <= signed:
        return "signed-headers"
    if b"x-amz-security-token" in h and b"x-amz-security-token" not in signed:
        return "token-not-signed"
    return None


def put_log_events(sink, conn, body):
    n = 0
    group = stream = None
    if sink.args.full_parse or sink.args.latency:
        try:
            req = json.loads(body)
            events = req["logEvents"]
            group, stream = req["logGroupName"], req["logStreamName"]
            n = len(events)
        except (ValueError, KeyError, TypeError) as exc:
            sink.violation("PutLogEvents body: %s" % exc)
            api_error(conn, "SerializationException", "bad body")
            return
    else:
        m = PREFIX_RE.match(body)
        if m is None or not body.endswith(b"]}"):
            sink.violation("PutLogEvents body shape")
            api_error(conn, "SerializationException", "bad body")
            return
        group, stream = m.group(1).decode(), m.group(2).decode()
        n = body.count(EVENT_MARK)
    if n < 1 or n > 10000:
        sink.violation("PutLogEvents with %d events" % n)
        api_error(conn, "InvalidParameterException", "bad event count")
        return
    answer(conn, 200, b'{"nextSequenceToken":"1"}')
    ack_us = time.time() * 1e6
    lat = []
    keys = []
    if sink.args.latency:
        for ev in events:
            try:
                msg = json.loads(ev["message"])
                lat.append((ack_us - msg["usecs"]) / 1000.0)
                keys.append((msg.get("reboot_counter"), msg.get("sequence_no"), stream))
            except (ValueError, KeyError, TypeError):
                pass  # markers and non-JSON messages carry no write time
    with sink.lock:
        st = sink.st
        st["events"] += n
        if n > st["max_events_in_request"]:
            st["max_events_in_request"] = n
        key = group + "/" + stream
        st["stream_events"][key] = st["stream_events"].get(key, 0) + n
        if lat:
            sink.latency.extend(lat)
            for k in keys:
                if k in sink.seen:
                    sink.dups += 1
                else:
                    sink.seen.add(k)


def handle_op(sink, conn, op, body):
    if op == "PutLogEvents":
        put_log_events(sink, conn, body)
    elif op in ("CreateLogGroup", "CreateLogStream", "PutRetentionPolicy",
                "DeleteRetentionPolicy"):
        answer(conn, 200, b"{}")
    elif op == "GetLogEvents":
        answer(conn, 200, b'{"events":[],"nextForwardToken":"f/0","nextBackwardToken":"b/0"}')
    elif op == "DescribeLogStreams":
        answer(conn, 200, b'{"logStreams":[]}')
    else:
        sink.violation("unknown operation %s" % op)
        api_error(conn, "UnknownOperationException", op)


def handle_control(sink, conn, method, path):
    if method == b"GET" and path == b"/_front/stats":
        answer(conn, 200, json.dumps(sink.stats()).encode())
    elif method == b"GET" and path == b"/_front/latency":
        answer(conn, 200, json.dumps(sink.latency_stats()).encode())
    elif method == b"POST" and path == b"/_front/reset-stats":
        sink.reset()
        answer(conn, 200, b"{}")
    elif method == b"GET" and path == b"/_front/health":
        answer(conn, 200, b'{"ok":true}')
    else:
        answer(conn, 404, b"{}")


def serve_conn(sink, conn, tls):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        try:
            conn = tls.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        with sink.lock:
            sink.st["tls_handshakes"] = sink.st.get("tls_handshakes", 0) + 1
            if conn.session_reused:
                sink.st["tls_resumed"] = sink.st.get("tls_resumed", 0) + 1
    buf = bytearray()
    body_buf = bytearray(1 << 20)
    try:
        while True:
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(buf) > 65536:
                    return
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head = bytes(buf[:end])
            del buf[:end + 4]
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                return
            method, path = parts[0], parts[1]
            h = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                h[k.strip().lower()] = v.strip()
            try:
                n = int(h.get(b"content-length", b"0"))
            except ValueError:
                return
            if n < 0 or n > MAX_BODY:
                sink.violation("body length %d" % n)
                answer(conn, 413, b"{}")
                return
            if len(body_buf) < n:
                body_buf = bytearray(n)
            view = memoryview(body_buf)
            have = min(len(buf), n)
            view[:have] = buf[:have]
            del buf[:have]
            while have < n:
                got = conn.recv_into(view[have:n])
                if got == 0:
                    return
                have += got
            body = bytes(view[:n])
            view.release()
            if path.startswith(b"/_front/"):
                handle_control(sink, conn, method, path)
                continue
            with sink.lock:
                sink.st["requests"] += 1
                sink.st["bytes"] += n
            if method != b"POST" or path != b"/":
                sink.violation("%s %s" % (method, path))
                api_error(conn, "UnknownOperationException", "POST / only")
                continue
            bad = check_headers(sink, h)
            if bad:
                sink.violation("header check: %s" % bad)
                api_error(conn, "InvalidSignatureException", bad)
                continue
            op = h[b"x-amz-target"][len(TARGET_PREFIX):].decode("ascii", "replace")
            with sink.lock:
                by = sink.st["requests_by_op"]
                by[op] = by.get(op, 0) + 1
            handle_op(sink, conn, op, body)
    except (ConnectionError, OSError):
        return
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--full-parse", action="store_true", help="json-parse every body")
    ap.add_argument("--latency", action="store_true", help="per-event latency from usecs")
    ap.add_argument("--max-seconds", type=float, default=1800)
    ap.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    ap.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = ap.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    sink = Sink(args)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)
    port = ls.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)
    if args.max_seconds > 0:
        t = threading.Timer(args.max_seconds, lambda: os._exit(0))
        t.daemon = True
        t.start()
    while True:
        conn, _ = ls.accept()
        with sink.lock:
            sink.st["connections"] += 1
        threading.Thread(target=serve_conn, args=(sink, conn, tls), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
