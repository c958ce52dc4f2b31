#!/usr/bin/env bash
# Reliability: endpoint faults through the checking front. Four writers append to four files (four
# streams) while the front answers PutLogEvents with 20 % throttling, 10 % 5xx, 5 % connections
# reset before an answer (request not applied) and 5 % lost responses (request applied, answer
# dropped); then, for a short phase, a third of the answers come only after the daemon's 30 s
# HTTP timeout (request applied). Every entry must arrive exactly once, checked by
# (reboot_counter, sequence_no) through the CloudWatch Logs API and the front's record, with no
# invalid request; the daemon must have resolved lost and late answers by reading the stream back.
# Digests are on (a local Ed25519 key, interval 10 s; their records meet the same faults): after
# the clean stop, `hsm-audit-forwarder verify` proves every stream over the whole run.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup faults
PER_FILE=${REL_FAULTS_ENTRIES:-1000}
FILES=4
G=/cloudhsm/reliability/faults

rel_front_start --throttle 0.2 --error5xx 0.1 --reset 0.05 --lose 0.05 --slow-seconds 32 \
    --seed "${REL_SEED:-$RANDOM}"
openssl genpkey -algorithm ED25519 -out "$T/digest-key.pem" 2>/dev/null || rel_fail "openssl genpkey"
chmod 600 "$T/digest-key.pem"
openssl pkey -in "$T/digest-key.pem" -pubout -out "$T/digest-pub.pem" 2>/dev/null
REL_MAX_EVENTS=50 rel_config "$G" "$T/audit/*.log" "{hostname}/{file}" "digest:
  enabled: true
  interval_s: 10
  key_file: $T/digest-key.pem"
haf_start
# Each file is its own HSM (its own stream) with its own range of sequence numbers, so
# (reboot_counter, sequence_no) is unique across the group.
for i in $(seq 0 $((FILES - 1))); do
    rel_bg python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm$i.log" \
        --count "$PER_FILE" --first $((i * PER_FILE)) --reboot "$HAF_REBOOT" --rate 100 --chunk 1
done
REL_WRITTEN=$((FILES * PER_FILE))
LAST=$((FILES * PER_FILE - 1))

# Phase 1 (mixed faults) lasts while the writers write (10 s at 100 entries/s); then phase 2 adds
# answers later than the timeout for 8 s, then the mixed faults again until everything is there.
sleep 8
rel_faults '{"slow": 0.33}'
sleep 8
rel_faults '{"slow": 0}'
for p in "${REL_BG_PIDS[@]}"; do wait "$p"; done
REL_BG_PIDS=()
rel_wait_record 0 "$LAST" 150 || rel_fail "not everything delivered exactly once"
# The clean stop needs an endpoint that answers: a stop while the faults go on may meet the 20 s
# stop deadline with the last digest unsent, and verify then rightly reports a heartbeat gap. So
# the faults end, and the stop waits until every stream's digest chain has reached the front
# after that (a stream may sit in a retry back-off of up to 30 s).
rel_faults '{"throttle": 0, "error5xx": 0, "reset": 0, "lose": 0, "slow": 0}'
calm_ms=$(($(date +%s%N) / 1000000))
fresh=0
for _ in $(seq 1 90); do
    fresh=$(python3 -c '
import json, sys
seen = set()
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r["stream"].endswith(".digest") and r["arrived"] >= int(sys.argv[2]):
        seen.add(r["stream"])
print(len(seen))' "$T/record.jsonl" "$calm_ms")
    [ "$fresh" = "$FILES" ] && break
    sleep 1
done
[ "$fresh" = "$FILES" ] || rel_fail "only $fresh of $FILES digest chains reached the front within 90 s of the faults' end"
haf_stop
! grep -q 'stop deadline reached' "$T/daemon.log" || rel_fail "the clean stop left events unsent"
faults=$(rel_front_stat 'sorted(s["faults"].items())')
ambiguous=$(grep -c 'no answer to a request that was sent' "$T/daemon.log")
rb_found=$(grep -c 'read-back found' "$T/daemon.log")
REL_NOTE="faults $faults; ambiguous answers $ambiguous, read-backs that found events $rb_found"
echo "$REL_NOTE"
for k in throttle error5xx reset lose slow; do
    case "$faults" in *"'$k'"*) ;; *) rel_fail "the front injected no $k fault: $faults" ;; esac
done
[ "$rb_found" -gt 0 ] || rel_fail "no read-back found delivered events (lost answers not exercised)"
rel_verify "$G" 0 "$LAST"
rc=0
timeout 300 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" --public-key "$T/digest-pub.pem" \
    >"$T/verify.out" 2>&1 || rc=$?
cat "$T/verify.out"
[ "$rc" = 0 ] && [ "$(grep -c ": PROVEN" "$T/verify.out")" = "$FILES" ] ||
    rel_fail "verify after the faults exited $rc: the digests do not prove the run"
echo "PASS reliability_faults"
