#!/usr/bin/env python3
"""count_record.py: exactly-once check over the checking front's --record file.

Each line of the record is one event the front accepted ({"group", "stream", "timestamp",
"message"}). Audit entries are identified by (reboot_counter, sequence_no) the same way as
tests/tools/check_delivery.py does (JSON message, or the raw text); a message split into
"[part i/n] " events counts once, on its last part, which must follow parts 1..n-1 of the same
stream. Prints one line:

  delivered D duplicates U lost L markers M other O flagged F parts P

and exits 0 only when every entry FIRST..LAST of reboot counter R arrived exactly once.
"""
import argparse
import collections
import json
import os
import re
import sys

PART = re.compile(r"^\[part (\d+)/(\d+)\] ")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from check_delivery import entry_key  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--reboot", type=int, required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    counts = collections.Counter()
    markers = other = flagged = parts = 0
    assembling = {}  # stream -> (expected next part, n, text so far)
    try:
        f = open(args.record, encoding="utf-8")
    except FileNotFoundError:
        f = []
    for line in f:
        if not line.endswith("\n"):
            break  # the front is writing it
        ev = json.loads(line)
        msg, stream = ev["message"], (ev["group"], ev["stream"])
        m = PART.match(msg)
        if m:
            parts += 1
            i, n = int(m.group(1)), int(m.group(2))
            prev = assembling.get(stream)
            if i == 1:
                assembling[stream] = (2, n, msg[m.end():])
            elif prev is not None and prev[0] == i and prev[1] == n:
                assembling[stream] = (i + 1, n, prev[2] + msg[m.end():])
            else:
                other += 1  # a part out of order: counted, and the entry stays unassembled
                assembling.pop(stream, None)
                continue
            if i < n:
                continue
            msg = assembling.pop(stream)[2]
        try:
            obj = json.loads(msg)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "parse_error" in obj:
            flagged += 1
        k = entry_key(msg)
        if k == "marker":
            markers += 1
        elif k is None:
            other += 1
        else:
            counts[k] += 1
    expected = {(args.reboot, s) for s in range(args.first, args.last + 1)}
    got = set(counts) & expected
    dups = sorted(k for k, n in counts.items() if n > 1)
    lost = sorted(expected - got)
    print("delivered %d duplicates %d lost %d markers %d other %d flagged %d parts %d" % (
        len(got), len(dups), len(lost), markers, other + len(set(counts) - expected), flagged,
        parts))
    if args.verbose:
        if dups:
            print("  duplicated (first 20):", [(k, counts[k]) for k in dups[:20]])
        if lost:
            print("  lost (first 20):", lost[:20])
    return 0 if not dups and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
