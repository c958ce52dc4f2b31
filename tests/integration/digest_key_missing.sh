#!/usr/bin/env bash
# digest_key_missing.sh: the example configuration ships with digests on and a KMS alias
# (conf/hsm-audit-forwarder.yaml says it must exist before the service starts). This checks what
# the example's comment promises, with its own alias, against moto_server (IAM auth on):
#   1. The alias does not exist: every audit entry still ships exactly once, and the log names the
#      missing alias on one clean line ("cannot sign record 1: ... NotFoundException ...;
#      trying again", no escaped "\n" before the "; trying again").
#   2. The alias is created (aws kms create-alias, as the README's Setup says) and the daemon is
#      restarted: records are signed and shipped, and verify proves the stream (exit 0).
# Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
haf_setup
moto_start || exit $?
export AWS_ENDPOINT_URL_KMS="$MOTO_URL"

alias=$(sed -n 's/^  kms_key_id: \(alias\/[^ ]*\)$/\1/p' "$HAF_SOURCE_DIR/conf/hsm-audit-forwarder.yaml")
[ -n "$alias" ] || haf_fail "the example configuration names no KMS alias under digest:"
grep -qF -- "--alias-name $alias " "$HAF_SOURCE_DIR/conf/hsm-audit-forwarder.yaml" ||
    haf_fail "the example does not say how to create $alias"
grep -qF -- "alias $alias" "$HAF_SOURCE_DIR/README.md" ||
    grep -qF -- "$alias --target-key-id" "$HAF_SOURCE_DIR/README.md" ||
    haf_fail "README's Setup does not create $alias"

G=/hsm/digest-key-missing
haf_config "$G" "{file}" "digest:
  enabled: true
  interval_s: 2
  kms_key_id: $alias"
haf_gen "$T/audit/hsm.log" 0 20
haf_start
haf_wait_delivered "$G" 0 19 30 || haf_fail "without the KMS alias, 0..19 did not ship exactly once"
haf_wait_log "cannot sign record 1: .*NotFoundException.*$alias.*trying again" 15 ||
    haf_fail "the log does not name the missing alias"
# One line, as written: the signer's message without its trailing newline shown escaped.
grep "cannot sign record 1:" "$T/daemon.log" | grep -qF '\n' && haf_fail "an escaped newline in the line"
haf_stop
echo "digest_key_missing: without $alias: 0..19 shipped exactly once, the log names the alias"

env AWS_ACCESS_KEY_ID="$HAF_ADMIN_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_ADMIN_SECRET" \
    aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" kms create-alias \
    --alias-name "$alias" --target-key-id "$HAF_KMS_ECC_KEY" ||
    haf_fail "kms create-alias"
haf_gen "$T/audit/hsm.log" 20 10
: >"$T/daemon.log"
haf_start
haf_wait_delivered "$G" 0 29 30 || haf_fail "with the alias, 0..29 not exactly once"
sleep 3 # a record sealed and shipped
haf_stop
grep -q "cannot sign" "$T/daemon.log" && haf_fail "still cannot sign with $alias created"
env AWS_ACCESS_KEY_ID="$HAF_READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_READER_SECRET" \
    timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" --log-stream hsm.log \
    --kms-key-id "$alias" >"$T/verify.out" 2>&1
rc=$?
cat "$T/verify.out"
[ "$rc" = 0 ] && grep -q ": PROVEN" "$T/verify.out" || haf_fail "verify exit $rc (want 0, PROVEN)"
echo "PASS digest_key_missing"
