#!/usr/bin/env bash
# Reliability: the wall clock stepped under a running daemon. The daemon runs under libfaketime
# (Debian's faketime; the offset read from a file at every call, FAKETIME_NO_CACHE=1, and
# CLOCK_MONOTONIC left alone as a real clock step leaves it) while a writer appends 20 entries a
# second for REL_WALLCLOCK_SECONDS (default 40). A third of the way in, the daemon's wall clock
# steps back an hour; two thirds in, it steps forward again (NTP putting it right). Timers run on
# CLOCK_MONOTONIC, so batches keep going out within the flush interval; signing uses the wall
# clock, so the checking front (its own, true clock; 5 minutes of allowed X-Amz-Date skew)
# answers the first request after each step "Signature expired" with its Date, the daemon adopts
# the offset and resends. Asserted: every entry arrives exactly once, none more than 3 s after it
# was written (flush interval 200 ms) before, between and after the steps, each step was met by a
# clock correction, and the entries keep their own times (the 1 h offset is inside the 2 h
# window, so nothing is reclocked).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
FAKETIME_LIB=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 \
    /usr/lib/faketime/libfaketime.so.1; do
    [ -e "$f" ] && { FAKETIME_LIB=$f; break; }
done
[ -n "$FAKETIME_LIB" ] || { echo "SKIP: libfaketime not installed (apt-get install faketime)"; exit 77; }
rel_setup wallclock
DURATION=${REL_WALLCLOCK_SECONDS:-40}
RATE=20
COUNT=$((RATE * DURATION))
G=/cloudhsm/reliability/wallclock

rel_front_start --seed 3
rel_config "$G" "$T/audit/*.log" "hsm-wallclock"
echo "+0" >"$T/faketime"
# An ASan build must let libfaketime come first.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
    LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE="$T/faketime" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 "$HAF_BIN" -f -v -c "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm.log" --count "$COUNT" \
    --reboot "$HAF_REBOOT" --rate "$RATE" --chunk 2 >"$T/writer.out" 2>&1 &
REL_BG_PIDS+=($!)
REL_WRITTEN=$COUNT
sleep $((DURATION / 3))
back=$(date +%s%3N)
echo "-3600" >"$T/faketime"
sleep $((DURATION / 3))
fwd=$(date +%s%3N)
echo "+0" >"$T/faketime"
rel_wait_record 0 $((COUNT - 1)) $((DURATION + 30)) || rel_fail "not everything delivered exactly once"
haf_stop

corrections=$(grep -c 'clock skew: the endpoint' "$T/daemon.log")
expired=$(rel_front_stat 's["errors_by_type"].get("InvalidSignatureException", 0)')
lat=$(python3 - "$T/record.jsonl" "$back" "$fwd" <<'PY'
import json, sys
back, fwd = int(sys.argv[2]), int(sys.argv[3])
phases = {"before": [], "stepped back": [], "put right": []}
reclocked = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if '"reclocked"' in ev["message"]:
        reclocked += 1
    t = ev["timestamp"]
    key = "before" if t < back else "stepped back" if t < fwd else "put right"
    phases[key].append(ev["arrived"] - t)
assert reclocked == 0, "%d entries reclocked" % reclocked
out = []
for k, v in phases.items():
    assert v, "no entries written %s" % k
    out.append("%s: %d entries, latency max %.2f s" % (k, len(v), max(v) / 1000))
print("; ".join(out))
assert max(max(v) for v in phases.values()) <= 3000, "an entry took over 3 s"
PY
) || rel_fail "latency: $lat"
echo "$lat; Signature expired answers $expired, clock corrections $corrections"
[ "$corrections" -ge 2 ] || rel_fail "expected a clock correction after each step, got $corrections"
REL_NOTE="wall clock -1 h at $((DURATION / 3)) s, back at $((2 * DURATION / 3)) s (libfaketime; monotonic untouched); $lat; Signature expired $expired, corrections $corrections"
rel_verify "$G" 0 $((COUNT - 1))
echo "PASS reliability_wallclock"
