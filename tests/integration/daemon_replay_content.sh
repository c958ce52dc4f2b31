#!/usr/bin/env bash
# daemon_replay_content.sh: replay detection compares content, not only the pair (issue 10 §5),
# against the checking front. One stream (template "hsm") ships a.log (entries 0..1199) and stops.
# While it is down b.log arrives (no checkpoint) holding, in this order:
#   (a) an exact copy of entries 1100..1199 of a.log: replays, skipped (no duplicate);
#   (b) entries 1150..1159 again but with another text (a reused pair): shipped, counted
#       (seq_reused=10) and warned about ("same sequence number ... different content");
#   (c) an exact copy of entries 0..4: acknowledged before the replay window (REPLAY_WINDOW 1024
#       entries), recognised by the replay ledger (replay_ledger.h) and skipped (replay_older=0;
#       before the ledger they were shipped again);
#   (d) new entries 1200..1219: shipped, with no sequence_gap marker.
# A `--once` run drains it with exit code 0. Before content comparison, (b) was dropped silently.
# Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
export HAF_REBOOT=9

G=/cloudhsm/replay-content
haf_config "$G" "hsm"
haf_gen "$T/audit/a.log" 0 1200
haf_start
haf_wait_exact "$G" 0 1199 30 >/dev/null || haf_fail "first run did not deliver 0..1199 once"
haf_stop
grep -q '"acked"' "$T/state/state.json" || haf_fail "the replay window is not in the state file"

# b.log, built from a.log's entries (each starts with a "Time:" line).
python3 - "$T/audit/a.log" "$T/b.log" <<'PY' || haf_fail "cannot build b.log"
import re, sys
text = open(sys.argv[1]).read()
entries = re.split(r"(?m)^(?=Time: )", text)
entries = [e for e in entries if e]
assert len(entries) == 1200, len(entries)
out = entries[1100:1200]
for e in entries[1150:1160]:
    forged = re.sub(r"(?m)^Session Handle : 0x[0-9a-fA-F]+$", "Session Handle : 0xdead", e)
    assert forged != e, "no Session Handle line to change"
    out.append(forged)
out += entries[0:5]
open(sys.argv[2], "w").write("".join(out))
PY
[ $? -eq 0 ] || exit 1
haf_gen "$T/b.log" 1200 20
mv "$T/b.log" "$T/audit/b.log"

haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" = 0 ] || haf_fail "--once exited $rc"
grep -q "counters:.*replays_skipped=105 .*seq_reused=10 replay_older=0" "$T/daemon.log" ||
    haf_fail "counters are not replays_skipped=105 seq_reused=10 replay_older=0"
[ "$(grep -c 'warning.*b.log: entry 9/11[5][0-9] shipped: same sequence number as an entry delivered before, different content' "$T/daemon.log")" = 10 ] ||
    haf_fail "the 10 reused pairs were not each warned about"
grep -q 'may be a duplicate' "$T/daemon.log" && haf_fail "a 'may be a duplicate' warning"

# What CloudWatch holds, by pair: 0..1219 all there, and exactly the 10 pairs of (b) twice; by
# content: nothing twice, (a) and (c) never.
haf_check "$G" 0 1219 --quiet --json-out "$T/check.json" >/dev/null
python3 - "$T/check.json" <<'PY' || haf_fail "check_delivery counts wrong"
import json, sys
r = json.load(open(sys.argv[1]))
print("check_delivery:", r)
assert r["lost"] == 0 and r["delivered"] == 1220 and r["duplicates"] == 10, r
assert r["unexpected"] == 0 and r["markers"] == 0 and r["events"] == 1230, r
PY
[ $? -eq 0 ] || exit 1
python3 - "$T/record.jsonl" "$G" <<'PY' || haf_fail "content of the stream wrong"
import collections, json, sys
# An entry's content: its message less "source" (the file it was read from).
msgs = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["group"] == sys.argv[2]:
        m = json.loads(r["message"])
        m.pop("source", None)
        msgs[json.dumps(m, sort_keys=True)] += 1
assert sum(msgs.values()) == 1230, sum(msgs.values())
twice = sorted(json.loads(m)["sequence_no"] for m, n in msgs.items() if n > 1)
assert twice == [], twice
forged = sorted(json.loads(m)["sequence_no"] for m in msgs
                if json.loads(m).get("session_handle") == 0xDEAD)
assert forged == list(range(1150, 1160)), forged
print("stream content: the 10 reused pairs with their own text, nothing twice")
PY
[ $? -eq 0 ] || exit 1
front_assert_clean
echo "PASS daemon_replay_content"
