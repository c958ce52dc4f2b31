#!/usr/bin/env python3
"""recording_proxy.py: a hostile forward proxy on 127.0.0.1 that records what reaches it.

Binds an ephemeral port (written to --port-file), appends the first line of every request it
receives (the request line, or CONNECT host:port) to --log, and answers 502 without forwarding
anything. A test that points a client's proxy settings here and then asserts the log is empty
proves that no request went through the proxy. Exits after --max-seconds (default 120) so a
crashed test cannot leave it behind. Loopback only.
"""
import argparse
import os
import socket
import threading
import time


def serve(conn, log_path, lock):
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        if line:
            with lock, open(log_path, "a") as f:
                f.write(line + "\n")
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-seconds", type=float, default=120)
    a = ap.parse_args()
    open(a.log, "a").close()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    s.settimeout(0.5)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    lock = threading.Lock()
    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, a.log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
