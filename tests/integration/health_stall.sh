#!/usr/bin/env bash
# health_stall.sh: a health stream that cannot deliver costs audit delivery nothing. Against the
# checking front (cwl_front.py, every request checked against CloudWatch's rules), health records
# every 1 s, and the front holding every PutLogEvents of the health stream for 50 s:
#   1. entries written while the health stream is held arrive within 10 s, exactly once;
#   2. the health stream backs up to its bound (32 records), then records are dropped with one
#      warning, and the daemon's memory stays put;
#   3. once the front lets go, the health records flow again and the first one through carries
#      HealthRecordsDropped > 0;
#   4. a reload (SIGHUP) with a health request held takes under 5 s (it does not wait for it),
#      sets the health stream up again, and once the front lets go records keep coming;
#   5. with the health stream held again, SIGTERM stops the daemon within 5 s (a stop never waits
#      for health records) and exit 0; no request broke a CloudWatch rule.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
G=/hsm/health-stall
H=$(hostname)
targeted() {
    curl -s --max-time 5 -X POST --data "$1" "$FRONT_URL/_front/targeted" >/dev/null ||
        haf_fail "cannot set the front's targeted faults"
}
haf_config "$G" "{file}" "health:
  enabled: true
  interval_s: 1"
t0=$(date +%s)
targeted "{\"stream\": \".health\", \"stall_ops\": [\"PutLogEvents\"], \"stall_until\": $((t0 + 50))}"
haf_start
haf_wait_log "health: EMF records every 1 s" 10 || haf_fail "health not set up"

# 1. Audit entries while the health stream is held.
haf_gen "$T/audit/hsm.log" 0 100
haf_wait_delivered "$G" 0 99 10 || haf_fail "0..99 not delivered within 10 s with health held"
# 2. The bound, then drops.
haf_wait_log "health: $G/$H.health holds 32 records it cannot deliver" 45 ||
    haf_fail "the health stream was not bounded"
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$HAF_PID/status")
haf_gen "$T/audit/hsm.log" 100 100
haf_wait_delivered "$G" 0 199 10 || haf_fail "100..199 not delivered within 10 s with health held"
[ "$(date +%s)" -lt $((t0 + 50)) ] || haf_fail "the test ran past the stall: it proves nothing"
echo "health_stall: 200 entries delivered while the health stream was held"
sleep 3
rss2=$(awk '/VmRSS/ {print $2}' "/proc/$HAF_PID/status")
[ "$rss2" -le $((rss1 + 1024)) ] || haf_fail "RSS grew from $rss1 to $rss2 kB while dropping"
[ "$(grep -c "holds 32 records it cannot deliver" "$T/daemon.log")" = 1 ] ||
    haf_fail "the drop warning was not given exactly once"

# 3. Flowing again: a record says how many were dropped.
dropped=
for _ in $(seq 1 80); do
    dropped=$(python3 - "$T/record.jsonl" "$H.health" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stream"] == sys.argv[2]:
        n = max(n, json.loads(r["message"]).get("HealthRecordsDropped", 0))
print(n)
PY
)
    [ "${dropped:-0}" -gt 0 ] && break
    sleep 0.5
done
[ "${dropped:-0}" -gt 0 ] || haf_fail "no health record reported HealthRecordsDropped"
echo "health_stall: health flows again; a record reports $dropped records dropped"

# 4. A reload: health goes on.
health_count() {
    python3 -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["stream"] == sys.argv[2]))' "$T/record.jsonl" "$H.health"
}
targeted "{\"stream\": \".health\", \"stall_ops\": [\"PutLogEvents\"], \"stall_until\": $(($(date +%s) + 60))}"
sleep 2.5
s0=$(date +%s%N)
kill -HUP "$HAF_PID"
haf_wait_log "reloaded configuration" 20 || haf_fail "no reload"
ms=$((($(date +%s%N) - s0) / 1000000))
[ "$ms" -lt 5000 ] || haf_fail "the reload took $ms ms with a health request held"
echo "health_stall: reloaded in $ms ms with a health request held"
targeted "{\"stream\": \".health\", \"stall_ops\": [], \"stall_until\": 0}"
n0=$(health_count)
for _ in $(seq 1 40); do
    [ "$(health_count)" -gt "$n0" ] && break
    sleep 0.25
done
[ "$(health_count)" -gt "$n0" ] || haf_fail "no health record after the reload"
[ "$(grep -c "health: EMF records every 1 s" "$T/daemon.log")" = 2 ] ||
    haf_fail "health was not set up again by the reload"
echo "health_stall: health records continue after a reload"

# 5. Held again: the stop does not wait for it.
targeted "{\"stream\": \".health\", \"stall_ops\": [\"PutLogEvents\"], \"stall_until\": $(($(date +%s) + 60))}"
sleep 2.5
s0=$(date +%s%N)
haf_stop
ms=$((($(date +%s%N) - s0) / 1000000))
[ "$ms" -lt 5000 ] || haf_fail "the stop took $ms ms with a health request held"
echo "health_stall: stopped in $ms ms with a health request held"
haf_check "$G" 0 199 || haf_fail "0..199 not exactly once"
front_assert_clean
echo "PASS health_stall"
