#!/usr/bin/env python3
"""check_corpus.py: was every entry of each bad-input file forwarded exactly as `parse` renders it?

For each FILE, runs `$HAF_BIN parse --format json FILE` (the daemon's own parser and formatter,
with the same path the daemon saw) and compares the multiset of its JSON objects with the events
the checking front recorded in the stream named after the file (log_stream "{file}"), after
joining "[part i/n] " events. Flagged entries (parse_error) and entries with no sequence number
count as much as clean ones: nothing may be dropped or sent twice. Prints one line per file and
exits 0 only when every file matches.

  check_corpus.py --record REC --bin HAF_BIN --group G FILE...
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

PART = re.compile(r"^\[part (\d+)/(\d+)\] ")


def stream_messages(record, group):
    """{stream: [message, ...]} with split parts joined."""
    out = collections.defaultdict(list)
    partial = {}
    with open(record, encoding="utf-8") as f:
        for line in f:
            ev = json.loads(line)
            if ev["group"] != group:
                continue
            s, msg = ev["stream"], ev["message"]
            m = PART.match(msg)
            if m:
                i, n = int(m.group(1)), int(m.group(2))
                have = partial.get(s)
                if i == 1:
                    partial[s] = [2, n, msg[m.end():]]
                elif have and have[0] == i and have[1] == n:
                    have[0] += 1
                    have[2] += msg[m.end():]
                else:
                    out[s].append("<part out of order> " + msg[:80])
                    partial.pop(s, None)
                    continue
                if i < n:
                    continue
                msg = partial.pop(s)[2]
            out[s].append(msg)
    for s, have in partial.items():
        out[s].append("<unfinished parts> %d/%d" % (have[0] - 1, have[1]))
    return out


def canon(obj):
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    got = stream_messages(args.record, args.group)
    bad = 0
    for path in args.files:
        name = os.path.basename(path)
        p = subprocess.run([args.bin, "parse", "--format", "json", path], capture_output=True,
                           timeout=120)
        want = collections.Counter(canon(json.loads(l)) for l in p.stdout.splitlines() if l)
        have = collections.Counter()
        for streams_name, msgs in got.items():
            if streams_name == name or streams_name.endswith("/" + name):
                for m in msgs:
                    try:
                        have[canon(json.loads(m))] += 1
                    except ValueError:
                        have[m] += 1
        missing = want - have
        extra = have - want
        flagged = sum(n for k, n in want.items() if '"parse_error"' in k)
        ok = p.returncode == 0 and not missing and not extra and sum(want.values()) > 0
        bad += not ok
        print("%-4s %-16s entries %d (flagged %d) forwarded %d missing %d extra %d%s" % (
            "ok" if ok else "BAD", name, sum(want.values()), flagged, sum(have.values()),
            sum(missing.values()), sum(extra.values()),
            "" if p.returncode == 0 else " (parse exit %d)" % p.returncode))
        for k in list(missing)[:2]:
            print("     missing: %s" % k[:300])
        for k in list(extra)[:2]:
            print("     extra:   %s" % k[:300])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
