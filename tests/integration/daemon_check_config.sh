#!/usr/bin/env bash
# daemon_check_config.sh: --check-config and configuration errors at startup. (1) The shipped
# example conf/hsm-audit-forwarder.yaml (copied, state_dir and the source path pointed into the test
# directory) passes: exit 0, the resolved settings on stdout (every key, defaults filled in, the
# adjusted paths), ending in "configuration OK"; no secret from the environment appears in it; and
# the printed settings are themselves a valid configuration. (2) A broken file (unknown key, wrong
# type, bad enum value) fails with exit 1 and one file:line:col message per error on stderr.
# (3) A configuration writable by others is refused by --check-config (exit 1) and by a normal start
# (exit 2), saying why and how to fix it. (4) A normal start with the broken file exits 2 at once.
# (5) Without a region (none in the file, no AWS_REGION, IMDS off) --check-config fails (exit 1)
# naming the ways to set one, and a start exits 2 with the same words. No endpoint is contacted. Bounded: about 2 s.
set -uo pipefail
[ -x "${HAF_BIN:-}" ] || { echo "HAF_BIN is not set" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.out "$T"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }; done
    exit 1
}
export AWS_SECRET_ACCESS_KEY=never/print/this/secret/value/0123456789
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 # the example has no region; (5) checks what happens without one
unset AWS_DEFAULT_REGION
mkdir -p "$T/state" "$T/audit"
chmod 700 "$T/state"

sed -e "s#^state_dir: .*#state_dir: $T/state#" \
    -e "s#^  - path: .*#  - path: $T/audit/*.log#" \
    "$HAF_SOURCE_DIR/conf/hsm-audit-forwarder.yaml" >"$T/good.yaml"
chmod 644 "$T/good.yaml"
grep -q "state_dir: $T/state" "$T/good.yaml" && grep -q "path: $T/audit" "$T/good.yaml" ||
    fail "could not adjust the example config"
"$HAF_BIN" --check-config -c "$T/good.yaml" >"$T/good.out" 2>"$T/good.err"
rc=$?
[ "$rc" = 0 ] || fail "--check-config on the example exited $rc"
tail -n 1 "$T/good.out" | grep -q "configuration OK" || fail "no 'configuration OK'"
for want in "state_dir: \"$T/state\"" "path: \"$T/audit/\*.log\"" "max_events: 10000" \
    "flush_interval_ms: 1000" "out_of_range: reclock" "retention_days: 365" "verify: true"; do
    grep -q "$want" "$T/good.out" || fail "resolved settings lack: $want"
done
grep -q "never/print/this" "$T/good.out" "$T/good.err" && fail "a secret was printed"
grep -v '^#' "$T/good.out" >"$T/resolved.yaml"
chmod 644 "$T/resolved.yaml"
"$HAF_BIN" --check-config -c "$T/resolved.yaml" >"$T/resolved.out" 2>"$T/resolved.err" ||
    fail "the printed settings are not a valid configuration"
cmp -s <(grep -v '^#' "$T/good.out") <(grep -v '^#' "$T/resolved.out") ||
    fail "the printed settings do not reload to the same settings"

cat >"$T/bad.yaml" <<YAML
region: us-east-1
state_dir: $T/state
batch:
  max_evnts: 10
  flush_interval_ms: soon
sources:
  - path: $T/audit/*.log
    log_group: /cloudhsm/audit
    log_stream: hsm
    format: xml
YAML
chmod 644 "$T/bad.yaml"
"$HAF_BIN" --check-config -c "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
[ "$rc" = 1 ] || fail "--check-config on a broken file exited $rc (want 1)"
grep -q "bad.yaml:4:3: batch.max_evnts: unknown key" "$T/bad.err" || fail "no file:line:col for the unknown key"
grep -q "bad.yaml:5:22: batch.flush_interval_ms: expected an integer" "$T/bad.err" ||
    fail "no file:line:col for the wrong type"
grep -q "bad.yaml:10:13: sources\[0\].format" "$T/bad.err" || fail "no file:line:col for the bad format"
[ -s "$T/bad.out" ] && fail "settings printed for a broken file"

cp "$T/good.yaml" "$T/open.yaml"
chmod 666 "$T/open.yaml"
"$HAF_BIN" --check-config -c "$T/open.yaml" >"$T/open.out" 2>"$T/open.err"
rc=$?
[ "$rc" = 1 ] || fail "--check-config on a world-writable file exited $rc (want 1)"
grep -q "writable by group or others" "$T/open.err" || fail "no reason for refusing the writable file"
grep -q "chmod go-w" "$T/open.err" || fail "no fix suggested for the writable file"
timeout 10 "$HAF_BIN" -f -c "$T/open.yaml" >"$T/open-start.out" 2>"$T/open-start.err"
rc=$?
[ "$rc" = 2 ] || fail "start with a world-writable config exited $rc (want 2)"
grep -q "writable by group or others" "$T/open-start.err" || fail "start does not say why"

timeout 10 "$HAF_BIN" -f -c "$T/bad.yaml" >"$T/bad-start.out" 2>"$T/bad-start.err"
rc=$?
[ "$rc" = 2 ] || fail "start with a broken config exited $rc (want 2)"
grep -q "bad.yaml:4:3" "$T/bad-start.err" || fail "start does not give file:line:col"
timeout 10 "$HAF_BIN" -f -c "$T/missing.yaml" >"$T/missing.out" 2>"$T/missing.err"
rc=$?
[ "$rc" = 2 ] || fail "start with a missing config exited $rc (want 2)"
[ -e "$T/state/state.json" ] && fail "a refused start wrote state"

env -u AWS_REGION "$HAF_BIN" --check-config -c "$T/good.yaml" >"$T/noregion.out" 2>"$T/noregion.err"
rc=$?
[ "$rc" = 1 ] || fail "--check-config without any region exited $rc (want 1)"
for want in 'no AWS region' 'region:' 'AWS_REGION in /etc/default/hsm-audit-forwarder' 'EC2'; do
    grep -qF "$want" "$T/noregion.err" || fail "--check-config without a region does not say: $want"
done
timeout 10 env -u AWS_REGION "$HAF_BIN" -f -c "$T/good.yaml" >"$T/noregion-start.out" 2>"$T/noregion-start.err"
rc=$?
[ "$rc" = 2 ] || fail "start without a region exited $rc (want 2)"
grep -qF 'AWS_REGION in /etc/default/hsm-audit-forwarder' "$T/noregion-start.err" ||
    fail "start without a region does not say how to set one"
echo "PASS daemon_check_config"
