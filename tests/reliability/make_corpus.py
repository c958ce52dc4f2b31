#!/usr/bin/env python3
"""make_corpus.py: the bad-input corpus of the reliability suite (reliability_badinput.sh).

Writes into DIR one file per kind of bad input, each its own stream, all with reboot counter
--reboot and sequence numbers that together cover 0..N-1 (printed as "LAST N-1" at the end),
plus files that hold no identifiable entry at all:

  valid.log        clean entries (the baseline)
  utf8.log         entries whose user name, an unknown label and its value carry invalid UTF-8
                   (stray continuation bytes, overlong forms, surrogates, truncated sequences)
  nul.log          entries with NUL bytes inside values and labels
  bigline.log      entries followed by a 10 MB line without a newline structure, and an entry
                   with a 10 MB unknown label value (both cut at the parser's line bound)
  truncated.log    entries cut after their header lines, a missing Response, and a last entry
                   cut in the middle of a line at EOF (no newline)
  optional.log     entries with every optional field (tests/data/audit/s13_all_optional_fields.log
                   renumbered), TIME_INFO_LOG included
  crlf.log         entries with CRLF line ends and stray CRs
  ctrl.log         entries of ~240 KB of control characters: over 1 MiB as JSON, shipped in parts
  garbage.log      seeded random binary bytes: nothing identifiable; flagged events expected
  many/f*.log      --many files of one clean entry each (a glob matching 10,000 files)

Entry times are the current time, so CloudWatch keeps them.
"""
import argparse
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import gen_audit  # noqa: E402

MB = 1 << 20


def clean(first, n, reboot, usecs, rng):
    return "".join(gen_audit.entries(n, usecs, reboot, first, rng)).encode()


def split_entries(blob):
    """Entries of a generated blob, each starting with its "Time:" line."""
    parts = re.split(rb"(?m)^(?=Time: )", blob)
    return [p for p in parts if p]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--reboot", type=int, default=263)
    ap.add_argument("--many", type=int, default=10000)
    ap.add_argument("--big-mb", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.dir, "many"), exist_ok=True)
    usecs = int(time.time() * 1e6)
    seq = 0

    def out(name, data):
        with open(os.path.join(args.dir, name), "wb") as f:
            f.write(data)

    def take(n):
        nonlocal seq, usecs
        ents = split_entries(clean(seq, n, args.reboot, usecs, rng))
        seq += n
        usecs += 10_000_000
        return ents

    # Baseline.
    out("valid.log", b"".join(take(200)))

    # Invalid UTF-8 in values, labels and unknown lines.
    bad_utf8 = [b"\x80", b"\xbf\xbf", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80",
                b"\xff\xfe", b"\xc3", b"\xe2\x82", b"\xf4\x90\x80\x80"]
    ents = take(60)
    for i, e in enumerate(ents):
        bad = bad_utf8[i % len(bad_utf8)]
        if b"User Name : " in e:
            e = e.replace(b"User Name : ", b"User Name : us" + bad + b"er", 1)
        ents[i] = e + b"Vendor Note" + bad + b" : value " + bad + b" end\n"
    out("utf8.log", b"".join(ents))

    # NULs.
    ents = take(60)
    for i, e in enumerate(ents):
        ents[i] = e.replace(b"Session Handle : ", b"Session Handle : \x00", 1) + \
            b"Nul\x00Label : a\x00b\x00\x00c\n"
    out("nul.log", b"".join(ents))

    # 10 MB lines: one between entries (text outside an entry), one as an unknown label's value.
    ents = take(6)
    big = args.big_mb * MB
    blob = ents[0] + ents[1] + b"X" * big + b"\n" + ents[2] + ents[3]
    blob += ents[4].rstrip(b"\n") + b"\nHuge Label : " + b"Y" * big + b"\n" + ents[5]
    out("bigline.log", blob)

    # Truncated entries: header only; no Response; cut mid-line at EOF.
    ents = take(40)
    parts = []
    for i, e in enumerate(ents):
        lines = e.split(b"\n")
        if i % 4 == 1:
            e = b"\n".join(lines[:3]) + b"\n"  # Time, Sequence No, Reboot counter only
        elif i % 4 == 2:
            e = b"\n".join(ln for ln in lines if not ln.startswith(b"Response"))
        parts.append(e)
    last = parts[-1].rstrip(b"\n")
    parts[-1] = last[: len(last) - 5]  # cut inside the last line, no newline at EOF
    out("truncated.log", b"".join(parts))

    # Every optional field.
    with open(os.path.join(HERE, "..", "data", "audit", "s13_all_optional_fields.log"), "rb") as f:
        sample = f.read()
    tmpl = split_entries(sample)
    ents = []
    for i in range(30):
        e = tmpl[i % len(tmpl)]
        t = usecs + i * 1000
        human = time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(t // 1_000_000)) + \
            ".%06d" % (t % 1_000_000)
        e = re.sub(rb"(?m)^Time: .*$", ("Time: %s, usecs:%d" % (human, t)).encode(), e, count=1)
        e = re.sub(rb"(?m)^Sequence No\s*:.*$", b"Sequence No : 0x%x" % seq, e, count=1)
        e = re.sub(rb"(?m)^Reboot counter\s*:.*$", b"Reboot counter : 0x%x" % args.reboot, e,
                   count=1)
        if not e.endswith(b"\n"):
            e += b"\n"
        ents.append(e)
        seq += 1
    usecs += 10_000_000
    out("optional.log", b"".join(ents))

    # CRLF and stray CR.
    ents = take(40)
    out("crlf.log", b"".join(e.replace(b"\n", b"\r\n") if i % 2 else
                             e.replace(b"Response : ", b"Response :\r ", 1).replace(b"SUCCESS",
                                                                                   b"SUC\rCESS")
                             for i, e in enumerate(ents)))

    # Control characters: entries of ~240 KB whose JSON escaping (\u0001) passes the 1 MiB
    # event limit, so the message ships in parts.
    ents = take(3)
    out("ctrl.log", b"".join(e + b"".join(b"Ctl Data %d : " % k + b"\x01" * 60000 + b"\n"
                                          for k in range(4)) for e in ents))

    # Binary garbage.
    out("garbage.log", bytes(rng.getrandbits(8) for _ in range(256 * 1024)))

    # Many files, one clean entry each.
    # Written over time, as real files are: distinct modification times, oldest first (files
    # created in one burst share the kernel's coarse timestamp).
    base_ns = time.time_ns() - args.many * 1_000_000
    for i, e in enumerate(take(args.many)):
        path = os.path.join(args.dir, "many", "f%05d.log" % i)
        with open(path, "wb") as f:
            f.write(e)
        os.utime(path, ns=(base_ns + i * 1_000_000, base_ns + i * 1_000_000))
    print("LAST %d" % (seq - 1))


if __name__ == "__main__":
    main()
