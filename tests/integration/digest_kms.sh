#!/usr/bin/env bash
# digest_kms.sh: digest records signed through KMS (src/kms.c over the awsJson1.1 client, SigV4,
# env credentials) against moto_server with IAM authentication enforced, for an ECC_NIST_P256 key
# (ECDSA_SHA_256) and an RSA_2048 key (RSASSA_PSS_SHA_256), each checked by an independent
# verifier (tests/tools/check_digests.py: hashlib and Debian's python3-cryptography) with the
# public key the AWS CLI gets from `kms get-public-key`: every signature, the chain, and every
# record's events hash, including a late event. Then: one byte of one event changed must fail the
# independent check, and a wrong secret must make kms:Sign fail with SignatureDoesNotMatch.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BUILD_DIR:?}"
tool="$HAF_BUILD_DIR/tests/digest_tool"
check="$HAF_SOURCE_DIR/tests/tools/check_digests.py"
[ -x "$tool" ] || { echo "digest_kms: $tool not built"; exit 1; }
/usr/bin/python3 -c 'import cryptography' 2>/dev/null ||
    { echo "digest_kms: python3-cryptography not installed (scripts/install-deps.sh)"; exit 77; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
cleanup() { moto_stop; rm -rf "$work"; }
MOTO_NO_TRAP=1
trap cleanup EXIT
rc=0
moto_start || rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; echo "digest_kms: moto_start failed"; exit 1; }
export AWS_ENDPOINT_URL_KMS="$MOTO_URL"
fail() { echo "digest_kms: $*"; exit 1; }

# Nine events, one of them late (its timestamp falls before what an earlier record covered).
python3 - >"$work/events.jsonl" <<'PY'
import json
for i in range(7):
    print(json.dumps({"timestamp": 1700000000000 + i * 10, "message": "event %d \u00e9" % i}))
print(json.dumps({"timestamp": 1700000000005, "message": "late one"}))
print(json.dumps({"timestamp": 1700000000100, "message": "x"}))
PY

for case in "ECC $HAF_KMS_ECC_KEY ECDSA_SHA_256 3" "RSA $HAF_KMS_RSA_KEY RSASSA_PSS_SHA_256 4"; do
    set -- $case
    timeout 60 "$tool" --kms-key-id "$2" --alg "$3" --stream s --every "$4" --stop \
        <"$work/events.jsonl" >"$work/$1.jsonl" || fail "$1: signing through KMS failed"
    n=$(wc -l <"$work/$1.jsonl")
    [ "$n" -ge 3 ] || fail "$1: expected at least 3 records, got $n"
    grep -q "\"alg\":\"$3\"" "$work/$1.jsonl" || fail "$1: records do not name $3"
    pub=$(moto_aws kms get-public-key --key-id "$2" --query PublicKey --output text)
    /usr/bin/python3 "$check" "$pub" "$work/events.jsonl" "$work/$1.jsonl" >"$work/$1.check" ||
        { cat "$work/$1.check"; fail "$1: the independent verifier refused the records"; }
    grep -q 'late' "$work/events.jsonl"
    sed 's/event 3 /event 4 /' "$work/events.jsonl" >"$work/altered.jsonl"
    if /usr/bin/python3 "$check" "$pub" "$work/altered.jsonl" "$work/$1.jsonl" >"$work/$1.alt"; then
        fail "$1: an altered event passed the independent check"
    fi
    grep -q 'FAILED events_sha256' "$work/$1.alt" || { cat "$work/$1.alt"; fail "$1: wrong failure"; }
    echo "digest_kms: $1: $n records verified independently; an altered event is caught"
done

if AWS_SECRET_ACCESS_KEY=wrong-secret-wrong "$tool" --kms-key-id "$HAF_KMS_ECC_KEY" \
        <"$work/events.jsonl" >/dev/null 2>"$work/wrong.err"; then
    fail "kms:Sign with a wrong secret succeeded"
fi
grep -q 'SignatureDoesNotMatch' "$work/wrong.err" || { cat "$work/wrong.err"; fail "wrong error"; }
echo "digest_kms: ok"
