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
  /stats       200 {"connections":N,"requests":M}

Exits after --max-seconds (default 300) so a crashed test cannot leave it behind.
"""
import json
import socket
import socketserver
import struct
import sys
import threading
import time
from email.utils import formatdate

STATS = {"connections": 0, "requests": 0}
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


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        with LOCK:
            STATS["connections"] += 1
        buf = b""
        try:
            while True:
                req = read_request(sock, buf)
                if req is None:
                    return
                method, path, headers, body, buf = req
                with LOCK:
                    STATS["requests"] += 1
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
        elif path == "/redirect":
            respond(sock, 302, "Found", "", extra={"Location": "/json"})
        else:
            respond(sock, 404, "Not Found", '{"__type":"NotFound"}')
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    max_seconds = 300
    if len(sys.argv) > 2 and sys.argv[1] == "--max-seconds":
        max_seconds = int(sys.argv[2])
    srv = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {srv.server_address[1]}", flush=True)
    timer = threading.Timer(max_seconds, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
