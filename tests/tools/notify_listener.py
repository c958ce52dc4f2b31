#!/usr/bin/env python3
"""notify_listener.py SOCKET LOG [SECONDS]: a systemd notify socket for scenarios.

Binds a datagram socket at SOCKET and appends each line of each notification to LOG as
"<unix time> <sender pid> <line>" (the pid from SCM_CREDENTIALS, as systemd checks it), for at
most SECONDS (default 60).
"""
import socket
import struct
import sys
import time

path, out = sys.argv[1], sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
deadline = time.time() + limit
with open(out, "a", buffering=1) as f:
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
        for line in msg.decode().split("\n"):
            f.write("%.3f %d %s\n" % (time.time(), pid, line))
