#!/usr/bin/env python3
"""record_order.py: what the checking front's --record file holds for one log group, checked
against what a rotation scenario expects: the streams the events went to, every audit entry once
and in sequence order, and no other event (no sequence_gap or file_lost marker, nothing flagged).

  record_order.py --record FILE --group G --streams a.log[,b.log] --entries N

Prints one summary line; exits 1 (naming what differs) when the group's events are not exactly
N audit entries in increasing sequence_no order in exactly those streams.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--streams", required=True, help="comma-separated stream names")
    ap.add_argument("--entries", type=int, required=True)
    a = ap.parse_args()
    seqs, streams, other = [], set(), []
    with open(a.record, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["group"] != a.group:
                continue
            streams.add(r["stream"])
            m = json.loads(r["message"])
            if "sequence_no" in m and "event" not in m:
                seqs.append(m["sequence_no"])
            else:
                other.append(m)
    want = set(a.streams.split(","))
    problems = []
    if streams != want:
        problems.append("streams %s, expected %s" % (sorted(streams), sorted(want)))
    if other:
        problems.append("%d other events, first %s" % (len(other), other[0]))
    if len(seqs) != a.entries:
        problems.append("%d entries, expected %d" % (len(seqs), a.entries))
    if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
        problems.append("entries not once each in sequence order")
    if problems:
        print("record_order: " + "; ".join(problems))
        return 1
    print("%d entries in order in stream %s, nothing else" % (len(seqs), a.streams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
