#!/usr/bin/env bash
# digest_daemon.sh: the daemon emits signed digests (digest_emit.c) against moto_server with IAM
# auth on, signing with the moto KMS key ECC_NIST_P256 (kms:Sign, RAW). Interval 2 s.
#   1. A file shipped with a stop (SIGTERM), appended to and shipped again: `verify` (as the
#      read-only auditor, public key from kms:GetPublicKey) exits 0 over the whole run; the records
#      are heartbeats, digests and stops, and every signature, the chain and every events hash are
#      checked independently by tests/tools/check_digests.py.
#   2. kill -9 mid-run (events acknowledged and not yet sealed) and a prompt restart: verify still
#      exits 0 over the whole run (the chain continues; nothing acknowledged is uncovered).
#   3. An event injected with the AWS CLI makes verify exit 1 naming it (injected); the data
#      stream re-created with one message changed makes it exit 1 (altered).
#   4. Another group: kill -9 and down for more than two intervals: verify exits 1 naming a
#      heartbeat gap.
#   5. --once with a local Ed25519 key file: a stop record ends the run; verify --public-key
#      proves all of it.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
haf_setup
moto_start || exit $?
export AWS_ENDPOINT_URL_KMS="$MOTO_URL"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || haf_fail "python3-cryptography missing"

digest_yaml="digest:
  enabled: true
  interval_s: 2
  kms_key_id: $HAF_KMS_ECC_KEY"
auditor=(env AWS_ACCESS_KEY_ID="$HAF_READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_READER_SECRET")
tamper=(env AWS_ACCESS_KEY_ID="$HAF_TAMPER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_TAMPER_SECRET")

# verify_run WANT TEXT GROUP: verify the group's stream hsm.log; exit code WANT, output has TEXT.
verify_run() {
    local want=$1 text=$2 got=0
    "${auditor[@]}" timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$3" \
        --log-stream hsm.log --kms-key-id "$HAF_KMS_ECC_KEY" >"$T/verify.out" 2>&1 || got=$?
    if [ "$got" != "$want" ] || ! grep -q -- "$text" "$T/verify.out"; then
        cat "$T/verify.out" >&2
        haf_fail "verify $3: exit $got (want $want), '$text' expected"
    fi
}
# events GROUP STREAM OUT: {"timestamp","message"} per line, as GetLogEvents returns them.
events() {
    moto_aws logs get-log-events --log-group-name "$1" --log-stream-name "$2" --start-from-head \
        --output json >"$T/ev.json" || haf_fail "get-log-events $1/$2"
    python3 -c 'import json,sys
for e in json.load(open(sys.argv[1]))["events"]:
    print(json.dumps({"timestamp": e["timestamp"], "message": e["message"]}))' "$T/ev.json" >"$3"
}

G=/hsm/digestd
haf_config "$G" "{file}" "$digest_yaml"
haf_gen "$T/audit/hsm.log" 0 200
haf_start
haf_wait_delivered "$G" 0 199 30 || haf_fail "first run did not deliver 0..199"
sleep 5 # heartbeats
haf_stop
grep -q '"digest"' "$T/state/state.json" || haf_fail "no digest chain in the state file"
haf_gen "$T/audit/hsm.log" 200 100
haf_start
haf_wait_delivered "$G" 0 299 30 || haf_fail "second run did not deliver 200..299"
haf_stop
verify_run 0 ": PROVEN" "$G"
echo "digest_daemon: clean run with a restart: verify exits 0"
events "$G" hsm.log "$T/data.jsonl"
events "$G" hsm.log.digest "$T/rec_ev.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["message"])' "$T/rec_ev.jsonl" >"$T/records.jsonl"
for kind in heartbeat digest stop; do
    grep -q "\"kind\":\"$kind\"" "$T/records.jsonl" || haf_fail "no $kind record"
done
[ "$(grep -c '"kind":"stop"' "$T/records.jsonl")" = 2 ] || haf_fail "expected 2 stop records"
pub=$(moto_aws kms get-public-key --key-id "$HAF_KMS_ECC_KEY" --query PublicKey --output text)
/usr/bin/python3 "$HAF_SOURCE_DIR/tests/tools/check_digests.py" "$pub" "$T/data.jsonl" \
    "$T/records.jsonl" >"$T/check.out" || { cat "$T/check.out"; haf_fail "independent check"; }
echo "digest_daemon: $(wc -l <"$T/records.jsonl") records checked independently"

# 2. kill -9 while events are acknowledged but not yet sealed (interval 60 s for this run: the
#    first seal after start is at 1 s, the next at 61 s), then a prompt restart.
haf_config "$G" "{file}" "${digest_yaml/interval_s: 2/interval_s: 60}"
haf_start
sleep 2
haf_gen "$T/audit/hsm.log" 300 200
haf_wait_delivered "$G" 0 499 30 || haf_fail "third run did not deliver 300..499"
kill -9 "$HAF_PID"
wait "$HAF_PID" 2>/dev/null
haf_gen "$T/audit/hsm.log" 500 50
haf_start
haf_wait_delivered "$G" 0 549 30 || haf_fail "restart after kill -9 did not deliver 500..549"
# Acknowledged events come back into the chain either from the state file (their leaves were saved
# with the acknowledgement) or, when the kill came before that save (acknowledgements alone are
# saved up to ACK_SAVE_DELAY_MS later), from the read-back of the batch that was in flight; the
# verify below proves the chain covers them either way.
grep -qE "chain continues after record [0-9]* \([1-9][0-9]* events acknowledged since|read-back found [1-9][0-9]* of [0-9]* events delivered already" "$T/daemon.log" ||
    haf_fail "events acknowledged before kill -9 were not restored into the chain"
haf_stop
haf_config "$G" "{file}" "$digest_yaml"
verify_run 0 ": PROVEN" "$G"
echo "digest_daemon: kill -9 and restart: verify still exits 0 over the whole run"

# 3. tampering
now=$(($(date +%s) * 1000))
inj=$(python3 -c 'import json,sys; print(json.dumps([{"timestamp": int(sys.argv[1]) - 20000, "message": "{\"forged\":1}"}]))' "$now")
"${tamper[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs put-log-events \
    --log-group-name "$G" --log-stream-name hsm.log --log-events "$inj" >/dev/null ||
    haf_fail "injection with the AWS CLI failed"
verify_run 1 "injected" "$G"
echo "digest_daemon: an injected event is named"
events "$G" hsm.log "$T/all.jsonl"
"${tamper[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs delete-log-stream \
    --log-group-name "$G" --log-stream-name hsm.log || haf_fail "delete-log-stream"
"${tamper[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs create-log-stream \
    --log-group-name "$G" --log-stream-name hsm.log || haf_fail "create-log-stream"
python3 - "$T/all.jsonl" >"$T/put.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [e for e in ev if "forged" not in e["message"]]
m = ev[len(ev) // 2]["message"]
ev[len(ev) // 2]["message"] = m.replace('"sequence_no"', '"sequence_NO"', 1)
assert ev[len(ev) // 2]["message"] != m
print(json.dumps(ev))
PY
"${tamper[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs put-log-events \
    --log-group-name "$G" --log-stream-name hsm.log --log-events "file://$T/put.json" >/dev/null ||
    haf_fail "re-creating the stream failed"
verify_run 1 "altered" "$G"
echo "digest_daemon: one message changed is named"

# 4. kill -9 and down for more than two intervals: a heartbeat gap.
G2=/hsm/digestd-gap
haf_config "$G2" "{file}" "$digest_yaml"
rm -f "$T/state/state.json"
haf_start
haf_wait_delivered "$G2" 0 549 30 || haf_fail "gap group: not delivered"
sleep 3
kill -9 "$HAF_PID"
wait "$HAF_PID" 2>/dev/null
sleep 6
haf_start
haf_wait_log "chain continues after record" 10 || haf_fail "gap group: chain not restored"
sleep 3
haf_stop
verify_run 1 "heartbeat" "$G2"
echo "digest_daemon: kill -9 and down for 6 s (interval 2 s): verify names the heartbeat gap"
# 5. --once with a local Ed25519 key file: the run ends with a stop record after its events, and
#    verify proves it offline with the public key.
G3=/hsm/digestd-once
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null || haf_fail "openssl pkey"
haf_config "$G3" "{file}" "digest:
  enabled: true
  interval_s: 2
  key_file: $T/key.pem"
rm -f "$T/state/state.json"
timeout 60 "$HAF_BIN" --once -v -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" ||
    haf_fail "--once with digests failed"
events "$G3" hsm.log.digest "$T/once.jsonl"
tail -n 1 "$T/once.jsonl" | grep -q 'kind\\":\\"stop' || { cat "$T/once.jsonl"; haf_fail "--once: no stop record last"; }
got=0
"${auditor[@]}" timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G3" \
    --log-stream hsm.log --public-key "$T/pub.pem" >"$T/verify.out" 2>&1 || got=$?
[ "$got" = 0 ] && grep -q ": PROVEN" "$T/verify.out" && grep -q "covered 550" "$T/verify.out" ||
    { cat "$T/verify.out"; haf_fail "--once with a key file: not proven (exit $got)"; }
echo "digest_daemon: --once with an Ed25519 key file: 550 events proven, stop record last"
echo "PASS digest_daemon"
