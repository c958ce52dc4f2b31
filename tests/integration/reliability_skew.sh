#!/usr/bin/env bash
# Reliability: clock skew answers and throttling storms. The checking front's clock runs 10 min
# ahead of ours (cwl_front.py --clock-offset), so every request the daemon signs with its own
# clock is refused as "Signature expired" until it corrects its signing clock from the answer's
# Date header; midway the front's clock jumps to 7 min behind, and the daemon must correct again.
# On top, 10 % of PutLogEvents get an injected "Signature expired" answer, and two throttling
# storms (90 %, then 100 % of PutLogEvents throttled for several seconds) hit while two writers
# append to two streams. Everything must arrive exactly once, by (reboot_counter, sequence_no),
# through the CloudWatch Logs API and the front's record, with no invalid request.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup skew
PER_FILE=${REL_SKEW_ENTRIES:-1200}
G=/cloudhsm/reliability/skew

# The clock offset applies to every operation; the injected answers to PutLogEvents.
rel_front_start --clock-offset 600 --skew 0.1 --seed "${REL_SEED:-$RANDOM}"
REL_MAX_EVENTS=50 rel_config "$G" "$T/audit/*.log" "{hostname}/{file}"
haf_start
for i in 0 1; do
    rel_bg python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm$i.log" \
        --count "$PER_FILE" --first $((i * PER_FILE)) --reboot "$HAF_REBOOT" --rate 60 --chunk 3
done
REL_WRITTEN=$((2 * PER_FILE))
LAST=$((REL_WRITTEN - 1))

sleep 4
rel_faults '{"throttle": 0.9}' # storm 1
sleep 6
rel_faults '{"throttle": 0, "clock_offset": -420}'
sleep 4
rel_faults '{"throttle": 1.0}' # storm 2: nothing gets through
sleep 5
rel_faults '{"throttle": 0.05}'
for p in "${REL_BG_PIDS[@]}"; do wait "$p"; done
REL_BG_PIDS=()
rel_wait_record 0 "$LAST" 120 || rel_fail "not everything delivered exactly once"
haf_stop

corrections=$(grep -c 'clock skew: the endpoint' "$T/daemon.log")
throttled=$(rel_front_stat 's["errors_by_type"].get("ThrottlingException", 0)')
expired=$(rel_front_stat 's["errors_by_type"].get("InvalidSignatureException", 0)')
REL_NOTE="front clock +600 s then -420 s; Signature expired answers $expired, clock corrections $corrections; throttled $throttled"
echo "$REL_NOTE"
# A request signed with an uncorrected clock is always refused, so delivering everything proves
# both corrections; the refusals prove the skew was there to correct.
[ "$expired" -gt 2 ] || rel_fail "the front refused no signature as expired"
[ "$throttled" -gt 20 ] || rel_fail "the throttling storms did not hit ($throttled throttled)"
rel_faults '{"clock_offset": 0}' # for the API read-back with boto3's clock
rel_verify "$G" 0 "$LAST"
echo "PASS reliability_skew"
