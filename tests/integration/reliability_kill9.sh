#!/usr/bin/env bash
# Reliability: kill -9 at random moments. A writer appends audit entries at a steady rate and
# rotates the file by rename (audit.log -> audit.log.1 ...) while the daemon is killed with SIGKILL
# REL_KILLS times (default 20) at random moments and restarted each time. The checking front
# (store mode) delays a third of its PutLogEvents answers by 0.4 s after accepting the events, so
# kills also land between CloudWatch's acceptance and the daemon's state save: exactly what the
# in-flight markers and the read-back must settle. Small batches (50 events) make many requests.
# At the end every entry is in the log group exactly once, checked by (reboot_counter,
# sequence_no) through the CloudWatch Logs API (boto3 GetLogEvents) and the front's record, and
# every request the daemon sent was valid. Digests are on (a local Ed25519 key, interval 30 s:
# the daemon is down up to ~25 s while the writer finishes): after the last clean stop,
# `hsm-audit-forwarder verify` proves the whole run (every event covered by a signed record, the
# chain unbroken across the kills, no heartbeat gap). Entries read again from a rotated file name
# another source, so their text differs from what arrived: the read-back's leaf is the stored
# one's (regression: before, verify found records "altered").
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup kill9
KILLS=${REL_KILLS:-20}
COUNT=${REL_KILL9_ENTRIES:-9000}
RATE=${REL_KILL9_RATE:-150}
G=/cloudhsm/reliability/kill9

rel_front_start --slow 0.33 --slow-seconds 0.4 --seed "${REL_SEED:-$RANDOM}"
openssl genpkey -algorithm ED25519 -out "$T/digest-key.pem" 2>/dev/null || rel_fail "openssl genpkey"
chmod 600 "$T/digest-key.pem"
openssl pkey -in "$T/digest-key.pem" -pubout -out "$T/digest-pub.pem" 2>/dev/null
REL_MAX_EVENTS=50 rel_config "$G" "$T/audit/audit.log*" "{hostname}/hsm-kill9" "digest:
  enabled: true
  interval_s: 30
  key_file: $T/digest-key.pem"
: >"$T/audit/audit.log"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/audit.log" \
    --count "$COUNT" --rate "$RATE" --chunk 1 --rotate-every 1500 --rotate-mode rename \
    --keep 20 >"$T/writer.out" 2>&1 &
WRITER=$!
REL_BG_PIDS+=("$WRITER")
REL_WRITTEN=$COUNT

# Delays: uniform 0..3.5 s, so some kills hit the start-up (state load, read-back wait) and
# most hit the steady state (reading, batching, requests in flight, answers being applied).
kills=0
for i in $(seq 1 "$KILLS"); do
    haf_start
    sleep "$(python3 -c 'import random; print(round(random.uniform(0, 3.5), 3))')"
    kill -9 "$HAF_PID" 2>/dev/null && kills=$((kills + 1))
    wait "$HAF_PID" 2>/dev/null
    HAF_PID=
done
echo "killed the daemon $kills times"
[ "$kills" -ge "$KILLS" ] || rel_fail "only $kills of $KILLS kills landed (daemon exited early?)"

wait "$WRITER" || rel_fail "the writer failed: $(cat "$T/writer.out")"
haf_start
rel_wait_record 0 $((COUNT - 1)) 120 || rel_fail "not everything delivered exactly once"
haf_stop
rb_found=$(grep -c 'read-back found' "$T/daemon.log")
rb_none=$(grep -c 'read-back: none' "$T/daemon.log")
inflight=$(grep -c 'was in flight at the last stop' "$T/daemon.log")
REL_NOTE="$kills kills; restarts with a request in flight: $inflight; read-backs that found events: $rb_found, found none: $rb_none"
echo "$REL_NOTE"
rel_verify "$G" 0 $((COUNT - 1))
# The proof over the whole run, read back from the front as an auditor would.
rc=0
timeout 300 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" --public-key "$T/digest-pub.pem" \
    >"$T/verify.out" 2>&1 || rc=$?
cat "$T/verify.out"
[ "$rc" = 0 ] && grep -q ": PROVEN" "$T/verify.out" ||
    rel_fail "verify after $kills kills exited $rc: the digests do not prove the run"
echo "PASS reliability_kill9"
