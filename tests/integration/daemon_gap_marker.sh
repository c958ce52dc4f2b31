#!/usr/bin/env bash
# daemon_gap_marker.sh: sequence tracking marks what the HSM's numbering says is missing. Entries
# 0..9 then 15..20 (reboot counter 263) produce exactly one {"event":"sequence_gap",...} marker in
# the stream, with reboot_counter 263, expected_sequence_no 10, received_sequence_no 15, missing 5,
# placed between entry 9 and entry 15; the log warns once. Then entries 0..4 under reboot counter
# 264 (the HSM rebooted and restarted its numbering) produce one reboot_counter_change marker
# (previous 263, now 264, sequence 0) and no gap marker, although 0 < 21. Every entry arrives
# exactly once. Bounded: about 5 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"

G=/cloudhsm/gap-marker
now=$(($(date +%s%N) / 1000))
gen() { # FIRST COUNT REBOOT USECS
    python3 "$HAF_SOURCE_DIR/tests/bench/gen_audit.py" -n "$2" --start-seq "$1" --reboot "$3" \
        --start-usecs "$4" >>"$T/audit/hsm.log"
}
gen 0 10 263 $((now - 60000000))
gen 15 6 263 $((now - 50000000))
haf_config "$G" "hsm"
haf_start
for _ in $(seq 1 50); do
    [ -f "$T/record.jsonl" ] && [ "$(wc -l <"$T/record.jsonl")" -ge 17 ] && break
    sleep 0.1
done
gen 0 5 264 $((now - 40000000))
for _ in $(seq 1 50); do
    [ "$(wc -l <"$T/record.jsonl")" -ge 23 ] && break
    sleep 0.1
done
sleep 0.5
haf_stop
front_assert_clean

python3 - "$T/record.jsonl" <<'PY' || haf_fail "markers not as specified"
import json, sys
msgs = [json.loads(json.loads(l)["message"]) for l in open(sys.argv[1])]
seqs = [("M:" + m["event"]) if "event" in m else (m["reboot_counter"], m["sequence_no"]) for m in msgs]
print(seqs)
want = ([(263, s) for s in range(10)] + ["M:sequence_gap"] + [(263, s) for s in range(15, 21)]
        + ["M:reboot_counter_change"] + [(264, s) for s in range(5)])
assert seqs == want, seqs
gap = next(m for m in msgs if m.get("event") == "sequence_gap")
assert (gap["reboot_counter"], gap["expected_sequence_no"], gap["received_sequence_no"],
        gap["missing"]) == (263, 10, 15, 5), gap
assert gap["source"].endswith("/hsm.log") and gap["host"], gap
rb = next(m for m in msgs if m.get("event") == "reboot_counter_change")
assert (rb["previous_reboot_counter"], rb["reboot_counter"], rb["sequence_no"]) == (263, 264, 0), rb
print("gap:", gap)
print("reboot:", rb)
PY
[ "$(grep -c "sequence gap in reboot counter 263: expected 10, got 15 (5 missing)" "$T/daemon.log")" = 1 ] ||
    haf_fail "the gap is not logged exactly once"
grep -q "reboot counter changed from 263 to 264" "$T/daemon.log" || haf_fail "the reboot is not logged"
grep -q "gaps=1 missing=5 reboots=1" "$T/daemon.log" || haf_fail "counters at stop do not say 1 gap of 5, 1 reboot"
echo "PASS daemon_gap_marker"
