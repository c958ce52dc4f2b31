#!/usr/bin/env python3
"""audit_writer.py: appends CloudHSM audit entries to a file the way a live HSM log grows, and
rotates it the ways logrotate does, for the daemon's rotation and fault scenarios.

  audit_writer.py --path DIR/audit.log --count N [--first S] [--reboot R] [--rate PER_SEC]
                  [--chunk K] [--rotate-every M] [--rotate-mode rename|copytruncate]
                  [--keep 3]

Entries come from tests/bench/gen_audit.py (consecutive sequence numbers, current time). Each
chunk of K entries is written with one write(2), as a logger would. With --rotate-every, after every
M entries the file is rotated: rename (audit.log -> audit.log.1, older ones shifted, a new
audit.log created) or copytruncate (copied to audit.log.1, then truncated in place). Prints the
number of entries written when done.
"""
import argparse
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import gen_audit  # noqa: E402

RNG = random.Random(1)


def entries(first, count, reboot):
    usecs = int(time.time() * 1e6)
    return "".join(gen_audit.entries(count, usecs, reboot, first, RNG)).encode()


def rotate(path, mode, keep):
    """As logrotate does: older copies shift up (audit.log.1 -> audit.log.2 ...) and the rotated
    content lands in a NEW audit.log.1 -- renamed (create) or copied, then truncated in place
    (copytruncate). A copy is never written over an existing file."""
    for i in range(keep - 1, 0, -1):
        if os.path.exists(f"{path}.{i}"):
            os.replace(f"{path}.{i}", f"{path}.{i + 1}")
    if mode == "rename":
        os.replace(path, f"{path}.1")
        open(path, "ab").close()
    else:
        shutil.copyfile(path, f"{path}.1")
        with open(path, "r+b") as f:
            f.truncate(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--reboot", type=int, default=263)
    ap.add_argument("--rate", type=float, default=0, help="entries per second; 0 = flat out")
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--rotate-every", type=int, default=0)
    ap.add_argument("--rotate-mode", choices=["rename", "copytruncate"], default="rename")
    ap.add_argument("--keep", type=int, default=3)
    args = ap.parse_args()

    written, since_rotate, start = 0, 0, time.monotonic()
    while written < args.count:
        n = min(args.chunk, args.count - written)
        data = entries(args.first + written, n, args.reboot)
        fd = os.open(args.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, data)
        os.close(fd)
        written += n
        since_rotate += n
        if args.rotate_every and since_rotate >= args.rotate_every and written < args.count:
            rotate(args.path, args.rotate_mode, args.keep)
            since_rotate = 0
        if args.rate:
            ahead = written / args.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    print(written)


if __name__ == "__main__":
    main()
