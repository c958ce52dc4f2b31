#!/usr/bin/env bash
# daemon_bad_input.sh: hostile bytes in an audit file, mixed with 40 good entries: garbage text, a
# binary block (every byte value, NUL and 0xFF included), an entry with invalid UTF-8, an entry with
# NUL bytes, a single 10 MB line, a truncated entry (bad opcode, fields missing), and a block of
# five 60 KB lines of control characters whose JSON escaping makes a 1.4 MB message. Checked from
# the front's record of accepted events (CloudWatch's rules checked on every request): every good
# entry arrives exactly once and unflagged; every bad item arrives exactly once (its marker text
# found in exactly one event), flagged with parse_error and raw, as valid JSON; the message over
# 1 MB arrives as numbered parts "[part i/n] " that reassemble to valid JSON; no sequence_gap
# marker (a flagged entry whose sequence fields parsed is sequence-tracked, so nothing is missing);
# the daemon (ASan build under ctest) never crashes and stops with exit 0. Bounded: about 10 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"

G=/cloudhsm/bad-input
python3 - "$T/audit/hostile.log" "$T/expect.json" <<'PY' || haf_fail "could not build the input"
import json, os, random, sys, time
sys.path.insert(0, os.environ["HAF_SOURCE_DIR"] + "/tests/bench")
import gen_audit
out, exp = sys.argv[1], sys.argv[2]
rng = random.Random(7)
usecs = int(time.time() * 1e6) - 3600 * 10**6
seq = 0
good, flagged_seq, blocks = [], [], []
buf = bytearray()

def entries(n):
    global seq, usecs
    text = "".join(gen_audit.entries(n, usecs, 263, seq, rng)).encode()
    usecs += n * 300000
    good.extend(range(seq, seq + n))
    seq += n
    return text

def entry_with(mark, extra):
    global seq, usecs
    text = "".join(gen_audit.entries(1, usecs, 263, seq, rng)).encode()
    usecs += 300000
    flagged_seq.append(seq)
    blocks.append(mark)
    seq += 1
    return text + extra

def block(mark, data):  # blank lines end the open entry: the block stands alone
    blocks.append(mark)
    return b"\n" + data + b"\n\n"

buf += entries(5)
buf += block("BADMARK-1", b"garbage BADMARK-1 this is not an audit entry\nanother junk line : x\n")
buf += entries(5)
buf += block("BADMARK-2", b"BADMARK-2 " + bytes(b for b in range(1, 256) if b != 10) + b"\x00\xff\xfe")
buf += entries(5)
buf += entry_with("BADMARK-3", b"Note : BADMARK-3 invalid \xc3\x28 utf8 \xff\xfe\n")
buf += entries(5)
buf += entry_with("BADMARK-4", b"Note : BADMARK-4 nul a\x00b\x00c\n")
buf += entries(5)
buf += block("BADMARK-5", b"BADMARK-5 " + b"A" * (10 * 1024 * 1024))
buf += entries(5)
t = "".join(gen_audit.entries(1, usecs, 263, 999999, rng)).split("\n")
buf += block("BADMARK-6", (t[0] + "\nCommand Type(hex) : CN_MGMT_CMD (0x0)\nOpcode : CN_LOG\n"
                           "Note : BADMARK-6 truncated").encode())
buf += entries(5)
buf += block("BADMARK-7", b"BADMARK-7 escapes\n" + b"\n".join([b"\x01" * 60000] * 5))
buf += entries(5)
open(out, "wb").write(bytes(buf))
json.dump({"good": good, "flagged_seq": flagged_seq, "blocks": blocks}, open(exp, "w"))
PY
echo "input: $(stat -c %s "$T/audit/hostile.log") bytes"
haf_config "$G" "hsm"
haf_start
haf_wait_delivered "$G" 0 41 30 >/dev/null || true
sleep 1
kill -0 "$HAF_PID" 2>/dev/null || haf_fail "the daemon died"
haf_stop
front_assert_clean

python3 - "$T/record.jsonl" "$T/expect.json" <<'PY' || haf_fail "bad input not handled as specified"
import collections, json, re, sys
exp = json.load(open(sys.argv[2]))
events = [json.loads(l)["message"] for l in open(sys.argv[1], encoding="utf-8")]
# Reassemble numbered parts.
msgs, parts, i = [], 0, 0
part_re = re.compile(r"\[part (\d+)/(\d+)\] ")
while i < len(events):
    m = part_re.match(events[i])
    if not m:
        msgs.append(events[i]); i += 1; continue
    n = int(m.group(2))
    assert m.group(1) == "1", events[i][:30]
    whole = ""
    for k in range(n):
        pm = part_re.match(events[i + k])
        assert pm and int(pm.group(1)) == k + 1 and int(pm.group(2)) == n, events[i + k][:30]
        assert len(events[i + k].encode()) <= 1048550
        whole += events[i + k][pm.end():]
    msgs.append(whole); parts += n; i += n
print("events %d, messages %d, split parts %d" % (len(events), len(msgs), parts))
assert parts >= 2, "no message was split into parts"
objs = [json.loads(m) for m in msgs]  # every message valid JSON
markers = [o for o in objs if "event" in o]
entries = [o for o in objs if "event" not in o]
good = collections.Counter(o["sequence_no"] for o in entries if "parse_error" not in o)
assert sorted(good) == exp["good"] and set(good.values()) == {1}, good
flagged = [o for o in entries if "parse_error" in o]
for o in flagged:
    assert isinstance(o.get("raw"), str) and o["raw"], o
for mark in exp["blocks"]:
    hits = [o for o in flagged if mark in o["raw"]]
    assert len(hits) == 1, "%s in %d flagged events" % (mark, len(hits))
unmarked = [o for o in flagged if not any(m in o["raw"] for m in exp["blocks"])]
assert all(o["parse_error"].startswith("continuation") for o in unmarked), unmarked
fl_seq = sorted(o["sequence_no"] for o in flagged if "sequence_no" in o and o["sequence_no"] in exp["flagged_seq"])
assert fl_seq == exp["flagged_seq"], fl_seq
missing = sorted(s for m in markers if m["event"] == "sequence_gap"
                 for s in range(m["expected_sequence_no"], m["received_sequence_no"]))
assert all(m["event"] == "sequence_gap" for m in markers), markers
assert missing == [], (missing, exp["flagged_seq"])
print("good %d exactly once; flagged %d (%s); gap markers for %s" % (
    len(good), len(flagged), sorted({o["parse_error"] for o in flagged}), missing))
PY
grep -Eq "AddressSanitizer|runtime error" "$T/daemon.log" && haf_fail "sanitizer report in the log"
echo "PASS daemon_bad_input"
