#!/usr/bin/env bash
# daemon_partial_entry.sh: entries written in pieces. (1) An entry is written in two halves, cut in
# the middle of a line, with a 2 s pause between them: exactly one event arrives for it, unflagged
# (no parse_error, no raw) and field for field equal to what `hsm-audit-forwarder parse` makes of
# the whole entry. (2) An entry written whole (its last line ends in a newline) while nothing
# follows it is shipped after a short idle time: it arrives less than flush_interval_ms + 1 s
# after the write (the daemon cannot know an entry is finished before the next one starts, so it
# waits ENTRY_IDLE_MS for more lines, then the batch waits flush_interval_ms). Bounded: about 8 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"

G=/cloudhsm/partial-entry
FLUSH_MS=500
HAF_FLUSH_MS=$FLUSH_MS haf_config "$G" "hsm"
haf_gen "$T/whole0" 0 1
haf_gen "$T/whole1" 1 1
len=$(stat -c %s "$T/whole0")
# Cut inside the third line ("Reboot counter : 0x107"), not at a line boundary.
cut=$(python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
i = b.index(b"Reboot counter") + 9
assert b[i - 1:i + 1] == b"ou", b[i - 1:i + 1]  # "Reboot co|unter"
print(i)' "$T/whole0") || haf_fail "cannot find the cut"
touch "$T/audit/hsm.log"
haf_start
haf_wait_log "watching 1 files" 10 || haf_fail "daemon did not start"

head -c "$cut" "$T/whole0" >>"$T/audit/hsm.log"
sleep 2
tail -c "+$((cut + 1))" "$T/whole0" >>"$T/audit/hsm.log"
[ "$(stat -c %s "$T/audit/hsm.log")" = "$len" ] || haf_fail "the two halves do not make the entry"
t0=$(date +%s%N)
for _ in $(seq 1 100); do
    grep -q '"sequence_no\\":0,' "$T/record.jsonl" 2>/dev/null && break
    sleep 0.05
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "entry 0 (written in two halves) arrived $ms ms after its second half"

"$HAF_BIN" parse "$T/whole0" >"$T/expected0.json" || haf_fail "parse failed"
python3 - "$T/record.jsonl" "$T/expected0.json" <<'PY' || haf_fail "entry 0 did not arrive once, whole and unflagged"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
mine = [json.loads(e["message"]) for e in events]
mine = [m for m in mine if m.get("sequence_no") == 0]
assert len(mine) == 1, "events for entry 0: %d" % len(mine)
got, want = mine[0], json.loads(open(sys.argv[2]).read())
assert "parse_error" not in got and "raw" not in got, got
for k in ("host", "source"):
    got.pop(k, None), want.pop(k, None)
assert got == want, (got, want)
assert len(events) == 1, "unexpected events: %r" % events
PY

sleep 1
t0=$(date +%s%N)
cat "$T/whole1" >>"$T/audit/hsm.log"
for _ in $(seq 1 100); do
    grep -q '"sequence_no\\":1,' "$T/record.jsonl" && break
    sleep 0.02
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "entry 1 (written whole, nothing after it) arrived $ms ms after the write (flush $FLUSH_MS ms)"
grep -q '"sequence_no\\":1,' "$T/record.jsonl" || haf_fail "entry 1 never arrived"
[ "$ms" -lt $((FLUSH_MS + 1000)) ] || haf_fail "entry 1 took $ms ms (>= flush interval + 1 s)"
out=$(haf_wait_exact "$G" 0 1 10) || { echo "$out"; haf_fail "not exactly entries 0 and 1"; }
echo "$out"
grep -q "flagged" "$T/daemon.log" && haf_fail "an entry was flagged"
haf_stop
front_assert_clean
echo "PASS daemon_partial_entry"
