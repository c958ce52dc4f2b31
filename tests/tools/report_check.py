#!/usr/bin/env python3
"""report_check.py: compare a `report --format json` document with report_corpus.py's
expected.json (the known counts), or two reports with each other.

  report_check.py expected EXPECTED.json REPORT.json   # every known count must match
  report_check.py same REPORT_A.json REPORT_B.json      # equal but for sources and digests
Prints what differs and exits 1, or prints "ok" and exits 0.
"""
import json
import sys


def expected(exp, got):
    bad = []

    def eq(what, want, have):
        if want != have:
            bad.append(f"{what}: want {want!r}, got {have!r}")

    eq("entries", exp["entries"], got["entries"])
    for k in ("success", "failed", "failed_by_reason", "failed_by_user"):
        eq(f"logins.{k}", exp["logins"][k], got["logins"][k])
    for sect in ("users", "keys"):
        for k, v in exp[sect].items():
            eq(f"{sect}.{k}", v, got[sect][k])
    eq("critical.backup_restore", exp["critical"]["backup_restore"],
       got["critical"]["backup_restore"])
    eq("errors_total", exp["errors_total"], got["errors_total"])
    hs = {h["hsm"]: h for h in got["hsms"]}
    eq("hsm names", sorted(h["hsm"] for h in exp["hsms"]), sorted(hs))
    for h in exp["hsms"]:
        g = hs.get(h["hsm"], {})
        eq(f"{h['hsm']}.entries", h["entries"], g.get("entries"))
        eq(f"{h['hsm']}.reboot_counters", h["reboot_counters"], g.get("reboot_counters"))
        eq(f"{h['hsm']}.gaps", h["gaps"],
           [{k: x[k] for k in ("reboot_counter", "expected", "received", "missing")}
            for x in g.get("gaps", [])])
    eq("opcodes", exp["opcodes"],
       {k: {"success": v["success"], "error": v["error"]} for k, v in got["opcodes"].items()})
    bursts = got["logins"]["bursts"]
    eq("bursts on", [exp["bursts_on"]], [b["hsm"] for b in bursts])
    eq("timeline total", exp["entries"], sum(b["entries"] for b in got["timeline"]["buckets"]))
    return bad


def same(a, b):
    a = dict(a)
    b = dict(b)
    for d in (a, b):
        # What was read from, not what it says: the inputs, and whether they had digest streams.
        for k in ("sources", "sources_total", "digests"):
            d.pop(k)
    if a == b:
        return []
    return [f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


def main():
    mode, x, y = sys.argv[1:4]
    with open(x, encoding="utf-8") as f:
        a = json.load(f)
    with open(y, encoding="utf-8") as f:
        b = json.load(f)
    bad = expected(a, b) if mode == "expected" else same(a, b)
    for line in bad:
        print(line[:2000])
    if bad:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
