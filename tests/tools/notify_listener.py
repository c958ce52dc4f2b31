#!/usr/bin/env python3
"""notify_listener.py: the systemd side of sd_notify(3) for tests.

Binds a datagram socket at SOCKET (what a test passes to the daemon as NOTIFY_SOCKET) and appends
one line per notification line received to OUT: "<epoch seconds> <sender pid> <line>", the pid
from SCM_CREDENTIALS as systemd checks it. Stops after --max-seconds (default 600) or on SIGTERM.

  notify_listener.py SOCKET OUT [--max-seconds S]
"""
import argparse
import signal
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("out")
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(args.socket)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    deadline = time.time() + args.max_seconds
    with open(args.out, "a", buffering=1) as f:
        while time.time() < deadline:
            s.settimeout(1)
            try:
                msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            pid = 0
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", data[:12])[0]
            for line in msg.decode(errors="replace").split("\n"):
                f.write("%.3f %d %s\n" % (time.time(), pid, line))


if __name__ == "__main__":
    main()
