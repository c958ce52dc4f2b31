#!/usr/bin/env bash
# daemon_log_group_settings.sh: the log groups the daemon creates get what the configuration asks
# for. (1) Against the checking front (a CloudWatch that knows every CreateLogGroup member):
# deletion protection on, class STANDARD, two tags, a KMS key and 731 days of retention arrive in
# the group, the entries are delivered, and no warning about the settings is logged. (2) Against a
# front that refuses logGroupClass / deletionProtectionEnabled as an endpoint from before them
# would: one clear warning, the group is created without them (tags, KMS key and retention kept),
# every entry is delivered, and CreateLogGroup is not retried in a loop. (3) Against moto_server
# (IAM auth on), which accepts and ignores deletionProtectionEnabled: delivered, and a warning
# that the endpoint does not report deletion protection. Bounded: about 30 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup

KMS=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
SETTINGS="retention_days: 731
kms_key_id: $KMS
deletion_protection: true
log_group_class: STANDARD
log_group_tags:
  team: security
  purpose: cloudhsm audit"

once() { timeout 60 "$HAF_BIN" --once -v -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log"; }
group_json() { front_stat "s['groups'].get('$1')"; }

# (1) an endpoint that knows every member
front_start
G=/cloudhsm/settings-full
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G" "hsm" "$SETTINGS"
once || haf_fail "--once failed against the full front"
got=$(group_json "$G")
echo "group: $got"
python3 - "$got" "$KMS" <<'PY' || haf_fail "the group's settings are not as configured"
import ast, sys
g = ast.literal_eval(sys.argv[1])
want = {"class": "STANDARD", "deletion_protection": True, "kms": sys.argv[2], "retention": 731,
        "tags": {"team": "security", "purpose": "cloudhsm audit"}}
sys.exit(0 if g == want else 1)
PY
[ "$(front_stat "s['stream_events'].get('$G', {}).get('hsm', 0)")" = 20 ] || haf_fail "not all 20 entries delivered"
grep -q "deletion protection\|refused CreateLogGroup\|cannot check its settings" "$T/daemon.log" &&
    haf_fail "a settings warning although the endpoint kept everything"
[ "$(front_stat "s['violation_count']")" = 0 ] || haf_fail "front violations"
front_stop
rm -rf "$T/state"/* "$T/audit"/*

# (2) an endpoint that predates logGroupClass and deletionProtectionEnabled
front_start --legacy-log-groups
G=/cloudhsm/settings-legacy
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G" "hsm" "$SETTINGS"
: >"$T/daemon.log"
once || haf_fail "--once failed against the legacy front"
grep -q "refused CreateLogGroup with logGroupClass and deletionProtectionEnabled" "$T/daemon.log" ||
    haf_fail "no warning about the refused members"
[ "$(grep -c "refused CreateLogGroup" "$T/daemon.log")" = 1 ] || haf_fail "the warning repeats"
creates=$(front_stat "s['requests_by_op'].get('CreateLogGroup', 0)")
[ "$creates" -le 2 ] || haf_fail "CreateLogGroup sent $creates times (a loop)"
got=$(group_json "$G")
echo "group: $got"
python3 - "$got" "$KMS" <<'PY' || haf_fail "the legacy group lost its tags, key or retention"
import ast, sys
g = ast.literal_eval(sys.argv[1])
sys.exit(0 if g["kms"] == sys.argv[2] and g["retention"] == 731 and g["tags"]["team"] == "security"
         and g["deletion_protection"] is False else 1)
PY
[ "$(front_stat "s['stream_events'].get('$G', {}).get('hsm', 0)")" = 20 ] || haf_fail "not all 20 entries delivered (legacy)"
front_stop
rm -rf "$T/state"/* "$T/audit"/*

# (3) moto_server: accepts deletionProtectionEnabled and ignores it
unset HAF_ENDPOINT
rc=0
moto_start || rc=$?
[ "$rc" = 77 ] && { echo "moto not installed: part 3 skipped"; echo "daemon_log_group_settings: passed"; exit 0; }
[ "$rc" = 0 ] || haf_fail "moto_start"
export AWS_ACCESS_KEY_ID=$HAF_ADMIN_KEY_ID AWS_SECRET_ACCESS_KEY=$HAF_ADMIN_SECRET
G=/cloudhsm/settings-moto
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G" "hsm" "$SETTINGS"
: >"$T/daemon.log"
once || haf_fail "--once failed against moto"
grep -q "log group $G: the endpoint does not report deletion protection" "$T/daemon.log" ||
    haf_fail "no warning that moto ignored deletion protection"
n=$(moto_get_events "$G" hsm | wc -l)
[ "$n" = 20 ] || haf_fail "moto has $n of 20 entries"
ret=$(moto_aws logs describe-log-groups --log-group-name-prefix "$G" --query 'logGroups[0].retentionInDays' --output text)
[ "$ret" = 731 ] || haf_fail "moto retention $ret"
echo "daemon_log_group_settings: passed"
