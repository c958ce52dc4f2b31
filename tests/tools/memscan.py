#!/usr/bin/env python3
"""memscan.py: count copies of secrets in a running process's memory.

    memscan.py PID ISSUED_JSONL [--skip-last N]

Reads every readable mapping of /proc/PID/maps (in 64 MiB pieces; mappings over 4 GiB, which only
a sanitizer's reservations are, are skipped and counted) through /proc/PID/mem (root, or a ptrace-capable
user: the daemon sets PR_SET_DUMPABLE 0, which leaves it readable to root only) and counts the
occurrences of each session token and secret access key listed in ISSUED_JSONL (as
imds_server.py --issued-file writes them), leaving out the last N issued (still in use). Prints
one line per secret with copies ("<kind> <serial>: N copies at 0x..., ...") and a final line
"TOTAL N"; exits 0 whatever it found (the caller decides), 2 when the process cannot be read.
"""
import argparse
import json
import re
import sys

MAX_REGION = 4 << 30


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pid", type=int)
    ap.add_argument("issued")
    ap.add_argument("--skip-last", type=int, default=1)
    a = ap.parse_args()
    with open(a.issued) as f:
        docs = [json.loads(line) for line in f if line.strip()]
    old = docs[: max(0, len(docs) - a.skip_last)]
    needles = []
    for i, d in enumerate(old):
        needles.append(("token", i + 1, d["Token"].encode()))
        needles.append(("secret", i + 1, d["SecretAccessKey"].encode()))
    hits = {n: [] for n in needles}
    try:
        maps = open("/proc/%d/maps" % a.pid).read().splitlines()
        mem = open("/proc/%d/mem" % a.pid, "rb", 0)
    except OSError as e:
        print("cannot read process %d: %s" % (a.pid, e))
        sys.exit(2)
    regions = skipped = 0
    chunk = 64 << 20
    overlap = max(len(n[2]) for n in needles) - 1 if needles else 0
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or m.group(3)[0] != "r" or "[vvar]" in line or "[vsyscall]" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > MAX_REGION:
            skipped += 1  # a sanitizer's reservation: terabytes of untouched address space
            continue
        regions += 1
        pos = lo
        while pos < hi:
            try:
                mem.seek(pos)
                data = mem.read(min(chunk + overlap, hi - pos))
            except (OSError, ValueError, OverflowError):
                break
            for n in needles:
                start = 0
                while True:
                    k = data.find(n[2], start)
                    if k < 0:
                        break
                    if pos + k not in hits[n]:
                        hits[n].append(pos + k)
                    start = k + 1
            pos += chunk
    total = 0
    for n, where in hits.items():
        if where:
            total += len(where)
            print("%s %d: %d copies at %s" % (n[0], n[1], len(where),
                                               ", ".join(hex(x) for x in where[:8])))
    print("scanned %d regions for %d expired secrets (%d regions over %d GiB skipped)" % (
        regions, len(needles), skipped, MAX_REGION >> 30))
    print("TOTAL %d" % total)


if __name__ == "__main__":
    main()
