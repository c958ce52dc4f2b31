#!/usr/bin/env python3
"""hostile_http.py: a small HTTP/1.1 server on 127.0.0.1 that misbehaves on request, for tests.

Binds an ephemeral port and prints "PORT <n>" as its first stdout line. Keep-alive is honoured, so
tests can count connections. Raw sockets (not http.server) so it can lie in ways a real server
would not. The path picks the behaviour (a query string is ignored):

  /json        200 {"ok":true,...} with x-amzn-RequestId and Date
  /echo        200 JSON describing the request: method, path, headers (lower-cased names), body
  /huge        200 with Content-Length 64 MiB, streams zeros until the client gives up
  /huge-chunked 200, chunked, no length, streams forever
  /drip        200 Content-Length 1000, one byte every 100 ms
  /truncated   200 Content-Length 1000, sends 10 bytes, closes
  /reset       reads the request, closes with a TCP RST and no answer
  /close       reads the request, closes cleanly with no answer
  /hang        reads the request, never answers (until the client closes or 120 s)
  /nonjson     200 text/html garbage
  /xml         403 XML error document (<Code>AccessDenied</Code>), like moto's IAM layer
  /500         500 {"__type":"InternalFailure"}
  /cwl/<Name>  400 {"__type":"<Name>","message":"..."} and X-Amzn-Errortype: <Name>
  /redirect    302 to /json (must not be followed)
  /reflect-body    400 {"__type":"Reflect","message":<the request body>}
  /reflect-headers 400 {"__type":"Reflect","message":<JSON of X-Amz-Target, X-Amz-Date,
                   Authorization, X-Amz-Security-Token, Content-Type, Host, User-Agent>}
  /skew        400 InvalidSignatureException "Signature expired" with a Date one hour ahead
  /rejected    200 with rejectedLogEventsInfo {tooNew 3, tooOld 1, expired 1}
  /pages       GetLogEvents over 6 events (e1..e6, timestamps 1000..6000), 2 per page; forward
               tokens f/<index> repeat at the end; backward, the first page is empty
  /pages-forever  GetLogEvents that always answers an empty page with a new token
  /skew-far    as /skew, with a Date ten years ahead (a broken proxy or a forged answer)
  /events-nul  GetLogEvents: one event whose message holds U+0000 ("a\u0000b"), then the end
  /too-large   GetLogEvents: a 5 MiB page (over the client's 4 MiB cap) unless the request's
               limit is at most 100; then one event "small" and the end
  /stats       200 {"connections":N,"requests":M}

A request in absolute form ("GET http://host/json", as sent to a proxy) is served by its path, so
the server doubles as a forward proxy that answers everything itself.

Options: --max-seconds N (default 300) exits after N seconds so a crashed test cannot leave it
behind; --tls CERT KEY serves HTTPS with that certificate instead of plain HTTP.
"""
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from email.utils import formatdate

STATS = {"connections": 0, "requests": 0}
TLS_CONTEXT = None
LOCK = threading.Lock()
MAX_HEAD = 65536


def date_header():
    return formatdate(usegmt=True)


def respond(sock, status, reason, body, ctype="application/json", extra=None, length=None):
    if isinstance(body, str):
        body = body.encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Type: {ctype}",
        f"Content-Length: {len(body) if length is None else length}",
        f"Date: {date_header()}",
        "x-amzn-RequestId: 0f2b6e5c-hostile-test-0001",
    ]
    for k, v in (extra or {}).items():
        head.append(f"{k}: {v}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)


def skew_answer(sock, ahead_s):
    """400 InvalidSignatureException "Signature expired" with a Date ahead_s seconds ahead."""
    ahead = formatdate(time.time() + ahead_s, usegmt=True)
    body_out = json.dumps({
        "__type": "InvalidSignatureException",
        "message": "Signature expired: 20160504T004903Z is now earlier than "
                   "20160504T005133Z (20160504T005633Z - 5 min.)"})
    sock.sendall((
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n"
        f"Content-Length: {len(body_out)}\r\nDate: {ahead}\r\n\r\n{body_out}"
    ).encode())


def read_request(sock, buf):
    """Returns (method, path, headers, body, rest) or None when the client closed."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEAD:
            return None
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(headers.get("content-length", ["0"])[0] or 0)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, path, headers, rest[:length], rest[length:]


def get_log_events_pages(body):
    """A tiny GetLogEvents: 6 events, pages of 2, tokens f/<next index> and b/<index>."""
    req = json.loads(body or b"{}")
    events = [{"timestamp": 1000 * i, "message": f"e{i}", "ingestionTime": 1000 * i + 1}
              for i in range(1, 7)]
    size = min(2, int(req.get("limit", 2)))
    token = req.get("nextToken")
    if req.get("startFromHead"):
        start = int(token[2:]) if token else 0
        page = events[start:start + size]
        nxt = min(start + len(page), len(events))
        return {"events": page, "nextForwardToken": f"f/{nxt}", "nextBackwardToken": f"b/{start}"}
    if token is None:
        return {"events": [], "nextForwardToken": "f/6", "nextBackwardToken": "b/6"}
    end = int(token[2:])
    start = max(0, end - size)
    return {"events": events[start:end], "nextForwardToken": f"f/{end}",
            "nextBackwardToken": f"b/{start}"}


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        with LOCK:
            STATS["connections"] += 1
        buf = b""
        try:
            if TLS_CONTEXT is not None:
                sock = TLS_CONTEXT.wrap_socket(sock, server_side=True)
            while True:
                req = read_request(sock, buf)
                if req is None:
                    return
                method, path, headers, body, buf = req
                with LOCK:
                    STATS["requests"] += 1
                if path.startswith("http://") or path.startswith("https://"):
                    path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
                if not self.dispatch(sock, method, path.split("?", 1)[0], headers, body):
                    return
        except (ConnectionError, BrokenPipeError, OSError):
            return

    def dispatch(self, sock, method, path, headers, body):
        """Answers one request; False to end the connection."""
        if path == "/json":
            respond(sock, 200, "OK", json.dumps({"ok": True, "path": path}))
        elif path == "/echo":
            doc = {
                "method": method,
                "path": path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            }
            respond(sock, 200, "OK", json.dumps(doc))
        elif path == "/stats":
            with LOCK:
                respond(sock, 200, "OK", json.dumps(STATS))
        elif path == "/huge":
            respond(sock, 200, "OK", b"", length=64 << 20)
            zeros = b"0" * 65536
            for _ in range(1024):
                sock.sendall(zeros)
            return False
        elif path == "/huge-chunked":
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"%x\r\n%s\r\n" % (65536, b"1" * 65536)
            for _ in range(1024):
                sock.sendall(chunk)
            return False
        elif path == "/drip":
            respond(sock, 200, "OK", b"", length=1000)
            for _ in range(1000):
                sock.sendall(b"x")
                time.sleep(0.1)
            return False
        elif path == "/truncated":
            respond(sock, 200, "OK", b'{"partial":', length=1000)
            return False
        elif path == "/reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        elif path == "/close":
            return False
        elif path == "/hang":
            sock.settimeout(120)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
            return False
        elif path == "/nonjson":
            respond(sock, 200, "OK", "<html><body>captive portal</body></html>", "text/html")
        elif path == "/xml":
            respond(
                sock,
                403,
                "Forbidden",
                '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error>'
                "<Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/x is "
                "not authorized to perform: logs:PutLogEvents</Message><Type>Sender</Type>"
                "</Error></Errors></ErrorResponse>",
                "text/xml",
            )
        elif path == "/500":
            respond(sock, 500, "Internal Server Error", '{"__type":"InternalFailure"}')
        elif path.startswith("/cwl/"):
            name = path[len("/cwl/"):]
            respond(
                sock,
                400,
                "Bad Request",
                json.dumps({"__type": name, "message": f"hostile {name}"}),
                "application/x-amz-json-1.1",
                {"X-Amzn-Errortype": name},
            )
        elif path == "/reflect-body":
            msg = body.decode("utf-8", "replace")
            respond(sock, 400, "Bad Request", json.dumps({"__type": "Reflect", "message": msg}))
        elif path == "/reflect-headers":
            pick = ["x-amz-target", "x-amz-date", "authorization", "x-amz-security-token",
                    "content-type", "host", "user-agent"]
            msg = json.dumps({k: headers[k][0] for k in pick if k in headers}, sort_keys=True)
            respond(sock, 400, "Bad Request", json.dumps({"__type": "Reflect", "message": msg}))
        elif path == "/skew":
            skew_answer(sock, 3600)
        elif path == "/skew-far":
            skew_answer(sock, 10 * 365 * 86400)
        elif path == "/events-nul":
            events = [] if b"nextToken" in (body or b"") else [
                {"timestamp": 1000, "message": "a\u0000b", "ingestionTime": 1000}]
            respond(sock, 200, "OK", json.dumps({
                "events": events, "nextForwardToken": "f/end", "nextBackwardToken": "b/0"}))
        elif path == "/too-large":
            try:
                limit = json.loads(body or b"{}").get("limit")
            except ValueError:
                limit = None
            if limit is not None and limit <= 100:
                events = [] if b"nextToken" in (body or b"") else [
                    {"timestamp": 1000, "message": "small", "ingestionTime": 1000}]
                respond(sock, 200, "OK", json.dumps({
                    "events": events, "nextForwardToken": "f/end", "nextBackwardToken": "b/0"}))
            else:
                big = json.dumps({"events": [{"timestamp": 1000, "message": "x" * (5 << 20)}],
                                  "nextForwardToken": "f/x"})
                respond(sock, 200, "OK", big)
        elif path == "/rejected":
            respond(sock, 200, "OK", json.dumps({"rejectedLogEventsInfo": {
                "tooNewLogEventStartIndex": 3, "tooOldLogEventEndIndex": 1,
                "expiredLogEventEndIndex": 1}}))
        elif path == "/pages":
            respond(sock, 200, "OK", json.dumps(get_log_events_pages(body)))
        elif path == "/pages-forever":
            with LOCK:
                n = STATS["requests"]
            respond(sock, 200, "OK", json.dumps(
                {"events": [], "nextForwardToken": f"f/{n}", "nextBackwardToken": f"b/{n}"}))
        elif path == "/redirect":
            respond(sock, 302, "Found", "", extra={"Location": "/json"})
        else:
            respond(sock, 404, "Not Found", '{"__type":"NotFound"}')
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global TLS_CONTEXT
    max_seconds = 300
    args = sys.argv[1:]
    while args:
        if args[0] == "--max-seconds" and len(args) >= 2:
            max_seconds = int(args[1])
            args = args[2:]
        elif args[0] == "--tls" and len(args) >= 3:
            TLS_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            TLS_CONTEXT.load_cert_chain(args[1], args[2])
            args = args[3:]
        else:
            print(f"hostile_http.py: bad arguments {args}", file=sys.stderr)
            sys.exit(2)
    srv = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {srv.server_address[1]}", flush=True)
    timer = threading.Timer(max_seconds, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
