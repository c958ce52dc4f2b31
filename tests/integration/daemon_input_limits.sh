#!/usr/bin/env bash
# daemon_input_limits.sh: file content and a valid configuration must never reach an abort()
# (issue 10 §5, "crash loop from file content" and "crash on a valid config"). Two scenarios
# against the checking front, each with the daemon run twice (a crash would repeat at every
# restart):
# 1. Two ~256 KiB blocks of control characters in one stream (JSON escaping makes each ~1.5 MB,
#    several parts): one held at the end of the older file, one at the start of the newer file, so
#    both are queued from one callback. Before the fix the batch ring overflowed: abort().
# 2. batch.max_bytes: 100000 and one 300 KB entry line: its message must be split by the configured
#    limit (before: one 300 KB event, refused by the batcher: abort()).
# Checked: the daemon stays up and stops with exit 0, every good entry arrives exactly once, the
# big items arrive as "[part i/n] " events whose count matches, and no request broke a CloudWatch
# rule (the front checks every request, the configured max_bytes included). Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
export HAF_REBOOT=7

G=/cloudhsm/input-limits
# make_inputs DIR PREFIX SEED [LONG]: PREFIX-1.log ends with a big entry (seq 9) held as its last
# one (its lines complete), PREFIX-2.log starts with another (seq 10): the first entry of the newer
# file completes the held one, in one callback. Each big entry's extra fields are ~256 KiB of
# control characters (each escapes to 6 bytes). LONG adds a 60000-character line of control
# characters (a block of its own) after the first five entries.
make_inputs() {
    python3 - "$@" <<'PY' || haf_fail "could not build the input"
import os, random, sys, time
sys.path.insert(0, os.environ["HAF_SOURCE_DIR"] + "/tests/bench")
import gen_audit
d, prefix, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
usecs = int(time.time() * 1e6) - 600 * 10**6
def entries(first, n):
    global usecs
    t = "".join(gen_audit.entries(n, usecs, 7, first, rng)).encode()
    usecs += n * 100000
    return t
def big(first, mark):
    e = entries(first, 1).rstrip(b"\n")
    return e + b"\nNote : " + mark + b"\n" + b"".join(
        b"Note%d : " % k + b"\x01" * 62000 + b"\n" for k in range(4))
long = b"\nLONGMARK " + b"\x01" * 60000 + b"\n\n" if len(sys.argv) > 4 else b""
older = d + "/" + prefix + "-1.log"
open(older, "wb").write(entries(0, 5) + long + entries(5, 4) + big(9, b"BIGMARK-%d" % seed))
os.utime(older, (time.time() - 60, time.time() - 60))
open(d + "/" + prefix + "-2.log", "wb").write(big(10, b"BIGMARK-%d" % (seed + 1)) + b"\n" +
                                              entries(11, 9))
PY
}
make_inputs "$T/audit" a 1
haf_config "$G" "s"
for run in 1 2; do
    haf_start --once
    wait "$HAF_PID"
    rc=$?
    HAF_PID=
    [ "$rc" -eq 0 ] || { tail -20 "$T/daemon.log" >&2; haf_fail "scenario 1 run $run: --once exited $rc"; }
done
grep -q "internal:\|aborting" "$T/daemon.log" && haf_fail "an internal error was logged"
haf_wait_exact "$G" 0 19 20 >/dev/null || haf_fail "scenario 1: entries lost or duplicated"
# Each big block arrives once, as complete "[part i/n] " series.
check_parts() {
    python3 - "$T/record.jsonl" "$@" <<'PY'
import json, re, sys
items, cur = [], None
for line in open(sys.argv[1]):
    m = json.loads(line)["message"]
    p = re.match(r"\[part (\d+)/(\d+)\] ", m)
    if not p:
        continue
    i, n = int(p.group(1)), int(p.group(2))
    if i == 1:
        cur = [n, [], False]
        items.append(cur)
    if cur is None or len(cur[1]) != i - 1 or cur[0] != n:
        sys.exit("part %d/%d out of order" % (i, n))
    cur[1].append(m[p.end():])
for mark in sys.argv[2:]:
    whole = ["".join(parts) for n, parts, _ in items if len(parts) == n and mark in "".join(parts)]
    if len(whole) != 1:
        sys.exit("%s: %d complete series" % (mark, len(whole)))
    print("%s: one series of %d parts" % (mark, [n for n, parts, _ in items
                                                if mark in "".join(parts)][0]))
PY
}
check_parts BIGMARK-1 BIGMARK-2 || haf_fail "scenario 1: big blocks not delivered whole, once"
front_assert_clean

# Scenario 2: a small configured max_bytes, an entry longer than it, and the two big entries again
# (each now ~16 parts: far more than the ring's 8 batches).
G2=/cloudhsm/input-limits-small
rm -f "$T/audit"/*.log "$T/state"/*
make_inputs "$T/audit" b 3 long
haf_config "$G2" "s" "  max_bytes: 100000"
for run in 1 2; do
    haf_start --once
    wait "$HAF_PID"
    rc=$?
    HAF_PID=
    [ "$rc" -eq 0 ] || { tail -20 "$T/daemon.log" >&2; haf_fail "scenario 2 run $run: --once exited $rc"; }
done
haf_wait_exact "$G2" 0 19 20 >/dev/null || haf_fail "scenario 2: entries lost or duplicated"
check_parts LONGMARK BIGMARK-3 BIGMARK-4 || haf_fail "scenario 2: the long entry not delivered whole, once"
front_assert_clean
echo "PASS daemon_input_limits"
