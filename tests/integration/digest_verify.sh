#!/usr/bin/env bash
# digest_verify.sh: `hsm-audit-forwarder verify` against CloudWatch Logs in moto_server (IAM auth
# on), reading as an auditor (logs:Get/Filter/Describe and kms:GetPublicKey only). The data stream
# is written with the real AWS CLI; its digest records are made by tests/digest_tool (the chain and
# KMS signing code the daemon uses, KMS key ECC_NIST_P256) from the events as the AWS CLI reads
# them back, and put into "<stream>.digest". Then:
#   - the untouched stream verifies (exit 0) with --kms-key-id and offline with --public-key, and
#     a reclocked old entry (a late event) is part of it;
#   - each tamper case exits 1 and names what happened: an event injected with the AWS CLI
#     (injected), the stream deleted and re-created with a subset (missing), one byte of one
#     message changed (altered), the digest stream deleted (no digests), a digest forged with
#     another key (forged), and the forwarder silent for more than two intervals (heartbeat_gap);
#   - usage errors exit 2.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BUILD_DIR:?}" "${HAF_BIN:?}"
tool="$HAF_BUILD_DIR/tests/digest_tool"
[ -x "$tool" ] || { echo "digest_verify: $tool not built"; exit 1; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
cleanup() { moto_stop; rm -rf "$work"; }
MOTO_NO_TRAP=1
trap cleanup EXIT
rc=0
moto_start || rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; echo "digest_verify: moto_start failed"; exit 1; }
export AWS_ENDPOINT_URL="$MOTO_URL"
fail() { echo "digest_verify: $*"; exit 1; }
G=/hsm/audit S=host-1/audit.log
# The writer puts events; the tamperer (logs:*) rewrites history; the auditor only reads.
writer=(env AWS_ACCESS_KEY_ID="$HAF_TAMPER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_TAMPER_SECRET")
auditor=(env AWS_ACCESS_KEY_ID="$HAF_READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_READER_SECRET")
now=$(( $(date +%s) * 1000 ))
base=$(( now - 3600 * 1000 ))

# put FILE STREAM: events {"timestamp","message"} one per line, in one PutLogEvents call each
# (sorted by timestamp, as the API wants).
put() {
    python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1])]; ev.sort(key=lambda e: e["timestamp"]); print(json.dumps(ev))' \
        "$1" >"$work/put.json"
    "${writer[@]}" aws --region "$AWS_REGION" logs put-log-events --log-group-name "$G" \
        --log-stream-name "$2" --log-events "file://$work/put.json" >/dev/null
}
fresh_stream() {
    "${writer[@]}" aws --region "$AWS_REGION" logs delete-log-stream --log-group-name "$G" \
        --log-stream-name "$1" >/dev/null 2>&1 || true
    "${writer[@]}" aws --region "$AWS_REGION" logs create-log-stream --log-group-name "$G" \
        --log-stream-name "$1"
}
# sign EVENTS > RECORDS as export-free JSON lines, then put them into the digest stream.
digests() { # $1 events file, $2 extra digest_tool options
    timeout 60 "$tool" --kms-key-id "$HAF_KMS_ECC_KEY" --stream "$S" --every 5 --stop \
        --time-ms $(( base + 600000 )) --interval-s 300 $2 <"$1" >"$work/records.jsonl"
    python3 -c 'import json,sys; [print(json.dumps({"timestamp": json.loads(l)["time_ms"], "message": l.rstrip("\n")})) for l in open(sys.argv[1])]' \
        "$work/records.jsonl" >"$work/record_events.jsonl"
    fresh_stream "$S.digest"
    put "$work/record_events.jsonl" "$S.digest"
}
verify() { "${auditor[@]}" timeout 120 "$HAF_BIN" verify --log-group "$G" "$@"; }
expect() { # $1 exit code, $2 text that must appear, rest: verify args
    local want=$1 text=$2 got=0
    shift 2
    verify "$@" >"$work/out.txt" 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat "$work/out.txt"; fail "verify $* exited $got, expected $want"; }
    grep -q -- "$text" "$work/out.txt" || { cat "$work/out.txt"; fail "verify $*: no '$text'"; }
}

"${writer[@]}" aws --region "$AWS_REGION" logs create-log-group --log-group-name "$G"
# 12 entries; the 13th is a reclocked old entry shipped last (a late event for the chain).
python3 - "$base" >"$work/events.jsonl" <<'PY'
import json, sys
base = int(sys.argv[1])
for i in range(12):
    print(json.dumps({"timestamp": base + i * 60000, "message": json.dumps(
        {"sequence_no": i + 1, "reboot_counter": 263, "opcode": {"name": "CN_LOGIN", "code": 13}})}))
print(json.dumps({"timestamp": base + 1000, "message": json.dumps(
    {"sequence_no": 13, "reboot_counter": 263, "reclocked": True})}))
PY
fresh_stream "$S"
put "$work/events.jsonl" "$S"
# The chain is fed what GetLogEvents gives back, in acknowledgement order.
MOTO_EVENTS_FORMAT=json moto_get_events "$G" "$S" >"$work/readback.jsonl"
[ "$(wc -l <"$work/readback.jsonl")" = 13 ] || fail "read back $(wc -l <"$work/readback.jsonl") events"
digests "$work/events.jsonl" ""
grep -q '"late":\[\[' "$work/records.jsonl" || fail "the reclocked entry was not a late event"

expect 0 "stream $S (group $G): PROVEN" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
expect 0 "covered 13, injected 0" --kms-key-id "$HAF_KMS_ECC_KEY"
moto_aws kms get-public-key --key-id "$HAF_KMS_ECC_KEY" --query PublicKey --output text |
    base64 -d | openssl pkey -pubin -inform DER -out "$work/pub.pem"
expect 0 "PROVEN" --log-stream "$S" --public-key "$work/pub.pem" --format json
verify --log-stream "$S" --public-key "$work/pub.pem" --format json >"$work/out.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["streams"][0]; assert s["proven"] and s["covered"]==13 and s["events"]==13, s' "$work/out.json"
# -c: region and endpoint from the configuration (none from the environment), and the digest
# location from its digest section: the records copied to another group under another name.
cat >"$work/haf.yaml" <<YAML
region: $AWS_REGION
endpoint: $MOTO_URL
digest:
  log_group: /hsm/digests
  log_stream: "digests/{stream}"
sources:
  - path: /nonexistent/*.log
    log_group: $G
YAML
chmod 600 "$work/haf.yaml"
"${writer[@]}" aws --region "$AWS_REGION" logs create-log-group --log-group-name /hsm/digests
"${writer[@]}" aws --region "$AWS_REGION" logs create-log-stream --log-group-name /hsm/digests \
    --log-stream-name "digests/$S"
python3 -c 'import json,sys; ev=[json.loads(l) for l in open(sys.argv[1])]; ev.sort(key=lambda e: e["timestamp"]); print(json.dumps(ev))' \
    "$work/record_events.jsonl" >"$work/put.json"
"${writer[@]}" aws --region "$AWS_REGION" logs put-log-events --log-group-name /hsm/digests \
    --log-stream-name "digests/$S" --log-events "file://$work/put.json" >/dev/null
(unset AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION
 export AWS_ENDPOINT_URL_KMS=$MOTO_URL
 expect 0 "covered 13, injected 0" -c "$work/haf.yaml" --log-stream "$S" \
     --kms-key-id "$HAF_KMS_ECC_KEY")
echo "digest_verify: the untouched stream is proven (KMS key and offline public key; -c)"

# injected with the AWS CLI, inside a digested range
printf '{"timestamp": %d, "message": "{\\"sequence_no\\": 99, \\"reboot_counter\\": 263}"}\n' \
    $(( base + 90000 )) >"$work/inject.jsonl"
put "$work/inject.jsonl" "$S"
expect 1 "injected: event at" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
echo "digest_verify: injected event named"

# deleted and re-created with a subset
fresh_stream "$S"
grep -v '"sequence_no\\": 4,' "$work/events.jsonl" >"$work/subset.jsonl"
put "$work/subset.jsonl" "$S"
expect 1 "1 of them are missing" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
echo "digest_verify: subset re-created: missing"

# one byte different
fresh_stream "$S"
python3 - "$work/events.jsonl" >"$work/altered.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if '"sequence_no": 7,' in e["message"]:
        e["message"] = e["message"].replace("CN_LOGIN", "CN_LOGIM")  # one byte
    print(json.dumps(e))
PY
cmp -s "$work/altered.jsonl" "$work/events.jsonl" && fail "the alteration did not apply"
put "$work/altered.jsonl" "$S"
expect 1 "altered: record seq" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
echo "digest_verify: one byte altered"

# digests deleted; then a digest forged with another key
fresh_stream "$S"
put "$work/events.jsonl" "$S"
"${writer[@]}" aws --region "$AWS_REGION" logs delete-log-stream --log-group-name "$G" \
    --log-stream-name "$S.digest"
expect 1 "NOT PROVEN: no digests found" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/other.pem" 2>/dev/null
chmod 600 "$work/other.pem"
digests "$work/events.jsonl" ""
"$tool" --key-file "$work/other.pem" --stream "$S" --time-ms $(( base + 3000000 )) \
    --alg ECDSA_SHA_256 <"$work/inject.jsonl" >"$work/forged.jsonl"
python3 -c 'import json,sys; [print(json.dumps({"timestamp": json.loads(l)["time_ms"], "message": l.rstrip("\n")})) for l in open(sys.argv[1])]' \
    "$work/forged.jsonl" >"$work/forged_events.jsonl"
put "$work/forged_events.jsonl" "$S.digest"
expect 1 "signature invalid" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
echo "digest_verify: digests deleted / forged with another key"

# the forwarder silent for four intervals: records 300 s apart, then 1500 s (signed time_ms)
timeout 60 "$tool" --kms-key-id "$HAF_KMS_ECC_KEY" --stream "$S" --every 5 \
    --time-ms $(( base + 600000 )) --interval-s 300 --gap-after 1 --gap-ms 1200000 \
    <"$work/events.jsonl" >"$work/records.jsonl"
python3 -c 'import json,sys; [print(json.dumps({"timestamp": json.loads(l)["time_ms"], "message": l.rstrip("\n")})) for l in open(sys.argv[1])]' \
    "$work/records.jsonl" >"$work/record_events.jsonl"
fresh_stream "$S.digest"
put "$work/record_events.jsonl" "$S.digest"
expect 1 "heartbeat_gap: no digest from" --log-stream "$S" --kms-key-id "$HAF_KMS_ECC_KEY"
echo "digest_verify: heartbeat gap"

expect 2 "usage" --log-stream "$S" --log-stream-prefix x
expect 2 "not epoch ms" --log-stream "$S" --since yesterday
echo "digest_verify: ok"
