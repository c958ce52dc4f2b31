#!/usr/bin/env python3
"""steady_writer.py: append audit entries at a steady rate, each stamped with its write time.

For the steady-state latency benchmark (bench_steady.sh): every entry's "usecs" (and its human
Time) is the wall-clock time at which it is written, so the sink can compute the delivery latency
of each entry as (acknowledgement time - usecs) without any other bookkeeping. Entries come from
gen_audit.py (same shapes, consecutive sequence numbers); every 10 ms the entries due by then
are written, each one with its own write(2), as an HSM client's logger would.

  steady_writer.py --path FILE --rate 1000 --seconds 60 [--first 0] [--reboot 263]

Prints the number of entries written.
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_audit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--reboot", type=int, default=263)
    args = ap.parse_args()

    rng = random.Random(1)
    total = int(args.rate * args.seconds)
    fd = os.open(args.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = time.monotonic()
    written = 0
    try:
        while written < total:
            due = min(total, int((time.monotonic() - start) * args.rate) + 1)
            while written < due:
                usecs = time.time_ns() // 1000
                text = next(gen_audit.entries(1, usecs, args.reboot, args.first + written, rng))
                os.write(fd, text.encode())
                written += 1
            time.sleep(0.01)
    finally:
        os.close(fd)
    print(written)


if __name__ == "__main__":
    main()
