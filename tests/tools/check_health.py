#!/usr/bin/env python3
"""check_health.py: an independent check of the daemon's EMF health records.

Reads three files of GetLogEvents output (one {"timestamp","message"} JSON object per line: the
health stream, the data stream, the digest stream) and checks:
  * each health record is an Embedded Metric Format document as the specification requires
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    CloudWatch_Embedded_Metric_Format_Specification.html): a JSON object whose "_aws" member holds
    an integer Timestamp and a CloudWatchMetrics array of directives, each with a Namespace
    string (1..255), Dimensions (arrays of at most 30 dimension keys, each a string member of the
    root), Metrics (at most 100 definitions, each Name a numeric member of the root, Unit one of
    CloudWatch's standard units);
  * the namespace, the Host dimension and the metric set are the documented ones;
  * the values agree with what was shipped: the sum of EntriesShipped is the number of events in
    the data stream, the sum of SequenceGaps the number of sequence_gap markers, the sum of
    ParseErrors the number of entries flagged parse_error; DigestsShipped sums to at most the
    digest records (the last ones may be acknowledged after the last health record); a lag was
    seen (PendingBytes > 0 with OldestUnackedAgeSeconds >= 1) and the last record shows none.

  check_health.py HEALTH.jsonl DATA.jsonl DIGESTS.jsonl --host H --namespace N --max-age S
Prints a summary line; exits 0 when every check holds.
"""
import argparse
import json
import sys

UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes",
         "Gigabytes", "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
         "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
         "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
         "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}
METRICS = ["EntriesShipped", "PendingBytes", "OldestUnackedAgeSeconds", "Retries", "SequenceGaps",
           "ParseErrors", "FilesLost", "DigestsShipped", "HealthRecordsDropped"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_emf(doc, fail):
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return fail("no _aws object")
    if not isinstance(aws.get("Timestamp"), int):
        fail("_aws.Timestamp is not an integer")
    dirs = aws.get("CloudWatchMetrics")
    if not isinstance(dirs, list) or not dirs:
        return fail("_aws.CloudWatchMetrics is not a non-empty array")
    for d in dirs:
        ns = d.get("Namespace")
        if not isinstance(ns, str) or not 1 <= len(ns) <= 255:
            fail("bad Namespace %r" % (ns,))
        dims = d.get("Dimensions")
        if not isinstance(dims, list):
            fail("Dimensions is not an array")
            dims = []
        for ds in dims:
            if not isinstance(ds, list) or len(ds) > 30:
                fail("a dimension set is not an array of at most 30 keys")
                continue
            for k in ds:
                if not isinstance(k, str) or not isinstance(doc.get(k), str) or not doc[k]:
                    fail("dimension %r is not a non-empty string member of the root" % (k,))
        mets = d.get("Metrics")
        if not isinstance(mets, list) or len(mets) > 100:
            fail("Metrics is not an array of at most 100 definitions")
            mets = []
        for m in mets:
            name = m.get("Name")
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                fail("bad metric Name %r" % (name,))
                continue
            v = doc.get(name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                fail("metric %s has no numeric root member" % name)
            if "Unit" in m and m["Unit"] not in UNITS:
                fail("metric %s: unit %r is not a CloudWatch unit" % (name, m["Unit"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("health")
    ap.add_argument("data")
    ap.add_argument("digests")
    ap.add_argument("--host", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--max-age", type=int, required=True)
    ap.add_argument("--max-retries", type=int, default=0)
    args = ap.parse_args()

    problems = []
    health, data, digests = load(args.health), load(args.data), load(args.digests)
    docs = []
    for i, ev in enumerate(health):
        def fail(msg, i=i):
            problems.append("record %d: %s" % (i, msg))
        try:
            doc = json.loads(ev["message"])
        except ValueError:
            fail("not JSON")
            continue
        if not isinstance(doc, dict):
            fail("not a JSON object")
            continue
        check_emf(doc, fail)
        d = doc["_aws"]["CloudWatchMetrics"][0]
        if d.get("Namespace") != args.namespace:
            fail("namespace %r" % d.get("Namespace"))
        if d.get("Dimensions") != [["Host"]] or doc.get("Host") != args.host:
            fail("dimensions %r host %r" % (d.get("Dimensions"), doc.get("Host")))
        if [m.get("Name") for m in d.get("Metrics", [])] != METRICS:
            fail("metrics %r" % [m.get("Name") for m in d.get("Metrics", [])])
        if doc["_aws"].get("Timestamp") != ev["timestamp"]:
            fail("_aws.Timestamp %r is not the event's timestamp %r"
                 % (doc["_aws"].get("Timestamp"), ev["timestamp"]))
        docs.append(doc)
    if len(docs) < 3:
        problems.append("only %d health records" % len(docs))

    def total(name):
        return sum(d.get(name, 0) for d in docs)

    messages = [json.loads(e["message"]) if e["message"].startswith("{") else None for e in data]
    gaps = sum(1 for m in messages if isinstance(m, dict) and m.get("event") == "sequence_gap")
    flagged = sum(1 for m in messages if isinstance(m, dict) and "parse_error" in m)
    if total("EntriesShipped") != len(data):
        problems.append("EntriesShipped sums to %d, the data stream has %d events"
                        % (total("EntriesShipped"), len(data)))
    if total("SequenceGaps") != gaps:
        problems.append("SequenceGaps sums to %d, %d sequence_gap markers" % (total("SequenceGaps"), gaps))
    if total("ParseErrors") != flagged:
        problems.append("ParseErrors sums to %d, %d entries flagged" % (total("ParseErrors"), flagged))
    if not 1 <= total("DigestsShipped") <= len(digests):
        problems.append("DigestsShipped sums to %d, %d digest records"
                        % (total("DigestsShipped"), len(digests)))
    if total("HealthRecordsDropped") or total("FilesLost"):
        problems.append("records dropped or files lost")
    if total("Retries") > args.max_retries:
        problems.append("Retries sums to %d, the daemon counted %d" % (total("Retries"), args.max_retries))
    lagging = [d for d in docs if d["PendingBytes"] > 0 and d["OldestUnackedAgeSeconds"] >= 1]
    if not lagging:
        problems.append("no record shows the lag (PendingBytes > 0, age >= 1 s)")
    if max(d["OldestUnackedAgeSeconds"] for d in docs) > args.max_age:
        problems.append("an age above %d s" % args.max_age)
    if docs and (docs[-1]["PendingBytes"] != 0 or docs[-1]["OldestUnackedAgeSeconds"] != 0):
        problems.append("the last record still shows pending bytes or age")
    ts = [e["timestamp"] for e in health]
    if ts != sorted(ts):
        problems.append("records out of time order")

    print("check_health: %d records, EntriesShipped %d (data events %d), SequenceGaps %d, "
          "DigestsShipped %d (records %d), %d lagging, max age %d s, max pending %d bytes"
          % (len(docs), total("EntriesShipped"), len(data), total("SequenceGaps"),
             total("DigestsShipped"), len(digests), len(lagging),
             max([d["OldestUnackedAgeSeconds"] for d in docs] or [0]),
             max([d["PendingBytes"] for d in docs] or [0])))
    for p in problems[:20]:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
