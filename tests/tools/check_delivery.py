#!/usr/bin/env python3
"""check_delivery.py: did every audit entry arrive exactly once?

Reads every event of a log group back from a CloudWatch Logs endpoint (moto_server or the checking
front) with boto3, identifies each audit entry by (reboot_counter, sequence_no) -- from the JSON
message, or from the raw text -- and compares with what was written. Marker events
({"event": ...}) are counted apart; a message shipped in "[part i/n] " events is joined first.
Prints one summary line and exits 0 only when nothing is lost
and nothing is duplicated.

  check_delivery.py --endpoint URL --group G --reboot R --first 0 --last 999 [--streams-prefix P]
                    [--json-out FILE] [--allow-missing]
"""
import argparse
import collections
import json
import re
import sys

PART = re.compile(r"^\[part (\d+)/(\d+)\] ")
RAW_SEQ = re.compile(r"^Sequence No\s*:\s*0x([0-9a-fA-F]+)", re.M)
RAW_REBOOT = re.compile(r"^Reboot counter\s*:\s*0x([0-9a-fA-F]+)", re.M)


def entry_key(message):
    """(reboot_counter, sequence_no) of an audit entry message, 'marker' or None."""
    try:
        obj = json.loads(message)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        if "event" in obj:
            return "marker"
        if "sequence_no" in obj and "reboot_counter" in obj:
            return (obj["reboot_counter"], obj["sequence_no"])
        return None
    s, r = RAW_SEQ.search(message), RAW_REBOOT.search(message)
    if s and r:
        return (int(r.group(1), 16), int(s.group(1), 16))
    return None


def read_all(client, group, prefix):
    streams, kw = [], {"logGroupName": group}
    if prefix:
        kw["logStreamNamePrefix"] = prefix
    while True:
        page = client.describe_log_streams(**kw)
        streams += [s["logStreamName"] for s in page.get("logStreams", [])]
        if not page.get("nextToken"):
            break
        kw["nextToken"] = page["nextToken"]
    events = []
    for name in streams:
        token = None
        while True:
            kw = {"logGroupName": group, "logStreamName": name, "startFromHead": True}
            if token:
                kw["nextToken"] = token
            page = client.get_log_events(**kw)
            events += [(name, e) for e in page.get("events", [])]
            nxt = page.get("nextForwardToken")
            if not page.get("events") or nxt == token:
                break
            token = nxt
    return streams, events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--group", required=True)
    ap.add_argument("--streams-prefix", default="")
    ap.add_argument("--reboot", type=int, required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    ap.add_argument("--json-out")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    # Imported here so that entry_key can be imported cheaply (tests/reliability/count_record.py).
    import boto3
    from botocore.config import Config

    client = boto3.client("logs", endpoint_url=args.endpoint, region_name=args.region,
                          config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    streams, events = read_all(client, args.group, args.streams_prefix)
    counts = collections.Counter()
    markers, unknown = 0, 0
    partial = {}
    for stream, ev in events:
        msg = ev["message"]
        m = PART.match(msg)
        if m:  # a message over the event limit ships as "[part i/n] " events: join them
            i, n = int(m.group(1)), int(m.group(2))
            have = partial.pop(stream, None)
            if i == 1 or (have and have[0] == i):
                partial[stream] = (i + 1, (have[1] if i > 1 else "") + msg[m.end():])
            if i < n or stream not in partial:
                unknown += i == n
                continue
            msg = partial.pop(stream)[1]
        k = entry_key(msg)
        if k == "marker":
            markers += 1
        elif k is None:
            unknown += 1
        else:
            counts[k] += 1
    expected = {(args.reboot, s) for s in range(args.first, args.last + 1)}
    got = set(counts)
    lost = sorted(expected - got)
    dups = sorted(k for k, n in counts.items() if n > 1)
    extra = sorted(got - expected)
    result = {"streams": len(streams), "events": len(events), "expected": len(expected),
              "delivered": len(got & expected), "duplicates": len(dups), "lost": len(lost),
              "unexpected": len(extra), "markers": markers, "unidentified": unknown}
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f)
    print("check_delivery: expected %(expected)d delivered %(delivered)d duplicates %(duplicates)d "
          "lost %(lost)d unexpected %(unexpected)d markers %(markers)d unidentified "
          "%(unidentified)d (%(events)d events in %(streams)d streams)" % result)
    if not args.quiet:
        if lost:
            print("  lost (first 20):", lost[:20])
        if dups:
            print("  duplicated (first 20):", [(k, counts[k]) for k in dups[:20]])
        if extra:
            print("  unexpected (first 20):", extra[:20])
    return 0 if not lost and not dups else 1


if __name__ == "__main__":
    sys.exit(main())
