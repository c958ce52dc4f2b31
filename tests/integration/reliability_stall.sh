#!/usr/bin/env bash
# Reliability: an endpoint and an IMDS that stall, and a loop that must not. Two streams
# (fast.log, slow.log) are written at once for about 105 s. The checking front holds the slow
# stream's CreateLogStream for the first 45 s; then it loses one of the slow stream's
# PutLogEvents answers (applied, connection dropped) and holds its GetLogEvents (the read-back
# that must follow) for 45 s, while the IMDS (credential lifetime 110 s, so the refresh falls due
# half-way) holds every credentials request for 45 s around the refresh. Each held request is
# answered only after the daemon gave up on it. Asserted: the fast stream keeps shipping through
# both stalls (no gap over 5 s between arrivals), WATCHDOG=1 keeps coming (WATCHDOG_USEC=10 s,
# no gap over 10 s between pings, sd_notify datagram socket as systemd's), no request is signed
# with expired credentials and the refresh happened, and every entry of both streams arrives
# exactly once (front record and CloudWatch API). Before the loop stopped blocking, each held
# CreateLogStream froze every stream (and the watchdog) for 30 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup stall
STALL=${REL_STALL_SECONDS:-45}
LIFETIME=110
DURATION=105
FAST_RATE=20
SLOW_RATE=10
FAST_N=$((FAST_RATE * DURATION))
SLOW_N=$((SLOW_RATE * DURATION))
G=/cloudhsm/reliability/stall

rel_imds_start "$LIFETIME"
IMDS="http://127.0.0.1:$IMDS_PORT"

rel_front_start --credentials-file "$T/issued.jsonl" --seed 7
targeted() {
    curl -s --max-time 5 -X POST --data "$1" "$HAF_ENDPOINT/_front/targeted" >/dev/null ||
        rel_fail "cannot set the front's targeted faults"
}
rel_config "$G" "$T/audit/*.log" "{file}"

python3 "$HAF_SOURCE_DIR/tests/tools/notify_listener.py" "$T/notify.sock" "$T/notify.log" &
REL_BG_PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
[ -S "$T/notify.sock" ] || rel_fail "notify listener did not start"

# Arrivals per stream, sampled every 0.5 s from the front's counters.
python3 - "$HAF_ENDPOINT" "$G" "$T/arrivals.log" <<'PY' &
import json, sys, time, urllib.request
url, group, out = sys.argv[1], sys.argv[2], sys.argv[3]
end = time.time() + 400
with open(out, "a", buffering=1) as f:
    while time.time() < end:
        try:
            s = json.load(urllib.request.urlopen(url + "/_front/stats", timeout=2))
            per = s["stream_events"].get(group, {})
            f.write("%.3f %d %d\n" % (time.time(), per.get("fast.log", 0), per.get("slow.log", 0)))
        except Exception:
            pass
        time.sleep(0.5)
PY
REL_BG_PIDS+=($!)

# Phase 1: the slow stream's CreateLogStream is held for STALL s.
t0=$(date +%s)
targeted "{\"stream\": \"slow\", \"stall_ops\": [\"CreateLogStream\"], \"stall_until\": $((t0 + STALL))}"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/fast.log" --count "$FAST_N" \
    --reboot "$HAF_REBOOT" --rate "$FAST_RATE" --chunk 2 >"$T/writer-fast.out" 2>&1 &
REL_BG_PIDS+=($!)
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/slow.log" --count "$SLOW_N" \
    --first "$FAST_N" --reboot "$HAF_REBOOT" --rate "$SLOW_RATE" --chunk 2 \
    >"$T/writer-slow.out" 2>&1 &
REL_BG_PIDS+=($!)
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=10000000 \
    bash -c 'export WATCHDOG_PID=$$; exec "$0" -f -vv -c "$1"' "$HAF_BIN" "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
REL_WRITTEN=$((FAST_N + SLOW_N))

# Phase 2, once the slow stream ships: one lost answer, its read-back held for STALL s; and the
# IMDS held for STALL s from shortly before the credential refresh falls due (half the lifetime).
for _ in $(seq 1 $((STALL + 60))); do
    [ "$(rel_front_stat 's["stream_events"].get("'$G'", {}).get("slow.log", 0)')" -gt 0 ] && break
    sleep 1
done
t1=$(date +%s)
[ $((t1 - t0)) -ge $((STALL - 2)) ] || rel_fail "the slow stream shipped during its CreateLogStream stall"
targeted "{\"stream\": \"slow\", \"stall_ops\": [\"GetLogEvents\"], \"stall_until\": $((t1 + STALL)), \"lose_puts\": 1}"
first_exp=$(head -n 1 "$T/issued.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Expiration"])')
imds_at=$((first_exp - LIFETIME / 2 - 3))
now=$(date +%s)
[ "$imds_at" -gt "$now" ] && sleep $((imds_at - now))
curl -s --max-time 5 "$IMDS/_stall/$STALL" >/dev/null || rel_fail "cannot stall the IMDS"
echo "phase 1 (CreateLogStream held) $t0..$t1; phase 2 (read-back held) from $t1; IMDS held from $(date +%s) for $STALL s"

rel_wait_record 0 $((FAST_N + SLOW_N - 1)) $((DURATION + 2 * STALL)) ||
    { grep -v ' debug ' "$T/daemon.log" | tail -n 30; rel_fail "not everything delivered exactly once"; }
haf_stop

held=$(rel_front_stat 's["stalled"]')
lost=$(rel_front_stat 's["lost_targeted"]')
keys=$(rel_front_stat 's["keys_used"]')
expired=$(rel_front_stat 's["expired_key_uses"]')
imds_held=$(curl -s "$IMDS/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stalled"])')
gaps=$(python3 - "$T/arrivals.log" "$T/notify.log" "$t0" "$((t1 + STALL))" <<'PY'
import sys
arr, notify, lo, hi = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
rows = [tuple(float(x) for x in l.split()) for l in open(arr)]
# The fast stream's arrivals: times its count grew, while both stalls ran.
grew = [t for (t, f, _), (_, f0, _) in zip(rows[1:], rows) if f > f0 and lo + 3 <= t <= hi]
edges = [lo + 3] + grew + [hi]
fast_gap = max(b - a for a, b in zip(edges, edges[1:]))
wd = [float(l.split()[0]) for l in open(notify) if l.split(" ", 2)[2].strip() == "WATCHDOG=1"]
wd_gap = max([b - a for a, b in zip(wd, wd[1:])] or [float("inf")])
print("fast-stream max gap %.1f s over %d arrivals; watchdog pings %d, max gap %.1f s" % (
    fast_gap, len(grew), len(wd), wd_gap))
assert len(grew) > 10, "fast stream arrivals during the stalls: %d" % len(grew)
assert len(wd) >= 10, "watchdog pings: %d" % len(wd)
assert fast_gap <= 5.0, "the fast stream stopped for %.1f s" % fast_gap
assert wd_gap <= 10.0, "watchdog gap %.1f s (WATCHDOG_USEC 10 s)" % wd_gap
PY
) || rel_fail "stall: $gaps"
echo "$gaps"
grep -q 'slow.log: STATE CREATING_STREAM => SETUP' "$T/daemon.log" ||
    rel_fail "no CreateLogStream of the slow stream timed out"
grep -q 'slow.log: STATE READING_BACK => VERIFY' "$T/daemon.log" ||
    rel_fail "no read-back of the slow stream timed out"
grep -q 'slow.log: read-back found' "$T/daemon.log" || rel_fail "the lost answer's events were not found by the read-back"
[ "$lost" = 1 ] || rel_fail "lost answers: $lost"
[ "$imds_held" -gt 0 ] || rel_fail "no credentials request reached the stalled IMDS"
[ "$keys" -ge 2 ] || rel_fail "no credential refresh: $keys keys used"
[ "$expired" = 0 ] || rel_fail "$expired requests signed with expired credentials"

REL_NOTE="CreateLogStream, read-back and IMDS each held ${STALL} s (${held} requests held at the front, ${imds_held} at the IMDS); $gaps; ${keys} keys, uses after expiry ${expired}"
rel_verify "$G" 0 $((FAST_N + SLOW_N - 1))
echo "PASS reliability_stall"
