#!/usr/bin/env python3
"""count_connections.py: a listener on 127.0.0.1 that counts the requests made to it and answers
each with 502, for tests that must prove a program made no network request (point the program's
proxy here). Prints "PORT <n>"; GET http://127.0.0.1:<n>/_count (sent directly, not counted)
returns the count so far. --log F appends each request line; --ignore-host RE (repeatable) does
not count proxy requests to matching hosts (a browser's own update and account services, which it
contacts whatever page it shows; they are logged, not counted).

  count_connections.py [--port-file F] [--log F] [--ignore-host RE]... [--max-seconds S]
"""
import argparse
import os
import re
import socket
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--log")
    ap.add_argument("--ignore-host", action="append", default=[])
    a = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    port = srv.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.rename(a.port_file + ".tmp", a.port_file)
    print(f"PORT {port}", flush=True)
    threading.Timer(a.max_seconds, lambda: os._exit(0)).start()
    count = 0
    while True:
        conn, _ = srv.accept()
        conn.settimeout(5)
        try:
            head = conn.recv(4096)
        except OSError:
            head = b""
        if head.startswith(b"GET /_count "):
            body = str(count).encode()
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        else:
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            m = re.match(r"[A-Z]+ (?:https?://)?([^/:\s]+)", line)
            host = m.group(1) if m else ""
            ignored = any(re.fullmatch(rx, host) for rx in a.ignore_host)
            if a.log:
                with open(a.log, "a") as f:
                    f.write(("ignored " if ignored else "counted ") + line + "\n")
            count += 0 if ignored else 1
            try:
                conn.sendall(b"HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
        conn.close()


if __name__ == "__main__":
    main()
