#!/usr/bin/env bash
# cloudwatch_cfn_moto.sh: the CloudFormation template conf/cloudwatch/cloudhsm-audit-alarms.yaml,
# resource by resource, as the API requests CloudFormation would make (tests/tools/cfn_requests.py:
# PutMetricFilter, PutMetricAlarm, PutDashboard, PutQueryDefinition, CreateLogGroup +
# PutRetentionPolicy), each validated by botocore against the service model and the ones moto
# implements applied to moto_server with IAM authentication on (as an operator with logs:* and
# cloudwatch:*) and read back: metric filters, alarms, the rendered dashboard and the log group
# must come back as sent. Run twice: with the defaults (an existing log group, no topic) and with
# CreateLogGroup=true and an SNS topic. The checker itself must reject a template with a
# misspelt property and one with a non-numeric threshold. The "forwarder lagging" template
# (conf/cloudwatch/forwarder-lagging-alarm.yaml, on the daemon's EMF health metrics) is applied
# the same way, with its two alarms read back on the health metrics' namespace, names and Host
# dimension. Bounded: about 30 s.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}"
python3 -c 'import botocore, boto3, yaml' 2>/dev/null || { echo "botocore/PyYAML missing: skipped"; exit 77; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
moto_start_or_exit cloudwatch_cfn_moto "$work"

tpl=$HAF_SOURCE_DIR/conf/cloudwatch/cloudhsm-audit-alarms.yaml
tool=$HAF_SOURCE_DIR/tests/tools/cfn_requests.py
fail=0
export AWS_ACCESS_KEY_ID=$HAF_ADMIN_KEY_ID AWS_SECRET_ACCESS_KEY=$HAF_ADMIN_SECRET

# 1. Defaults: the daemon's log group exists already.
moto_aws logs create-log-group --log-group-name /cloudhsm/audit
if python3 "$tool" "$tpl" --endpoint "$MOTO_URL" --moto --stack stack-a >"$work/a.out" 2>"$work/a.err"; then
    echo "ok: defaults: $(tail -n 1 "$work/a.err")"
else
    cat "$work/a.out" "$work/a.err"; echo "FAIL: defaults"; fail=1
fi
# Every resource type of the template was turned into its request.
for op in logs:PutMetricFilter cloudwatch:PutMetricAlarm cloudwatch:PutDashboard logs:PutQueryDefinition; do
    grep -q "\"operation\": \"$op\"" "$work/a.out" || { echo "FAIL: no $op request"; fail=1; }
done
n_applied=$(grep -c '"status": "applied"' "$work/a.out" || true)
[ "$n_applied" -ge 20 ] || { echo "FAIL: only $n_applied requests applied to moto"; fail=1; }
# The login alarms carry the template's default threshold (2) as a number.
python3 - "$work/a.out" <<'PY' || fail=1
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
th = {r["params"]["MetricName"]: r["params"]["Threshold"] for r in reqs if r["operation"] == "cloudwatch:PutMetricAlarm"}
ok = th.get("LoginFailedUnknownUser") == 2.0 and th.get("LoginFailedWrongPassword") == 2.0 and th.get("CryptoOfficerCreated") == 1.0
print(("ok" if ok else "FAIL") + f": alarm thresholds {th.get('LoginFailedUnknownUser')}, {th.get('LoginFailedWrongPassword')}, {th.get('CryptoOfficerCreated')}")
sys.exit(0 if ok else 1)
PY

# 2. The stack creates the log group (with retention) and alarms notify a topic.
if python3 "$tool" "$tpl" --endpoint "$MOTO_URL" --moto --stack stack-b -p CreateLogGroup=true \
    -p LogGroupName=/cloudhsm/audit-b -p LogGroupRetentionDays=731 -p FailedLoginThreshold=3 \
    -p AlarmTopicArn=arn:aws:sns:us-east-1:123456789012:hsm-audit >"$work/b.out" 2>"$work/b.err"; then
    echo "ok: CreateLogGroup and a topic: $(tail -n 1 "$work/b.err")"
else
    cat "$work/b.out" "$work/b.err"; echo "FAIL: CreateLogGroup and a topic"; fail=1
fi
grep -q '"operation": "logs:PutRetentionPolicy".*"retentionInDays": 731' "$work/b.out" ||
    { echo "FAIL: no retention request"; fail=1; }

# 2b. The "forwarder lagging" alarms on the EMF health metrics (health.c writes these names).
lag_tpl=$HAF_SOURCE_DIR/conf/cloudwatch/forwarder-lagging-alarm.yaml
if python3 "$tool" "$lag_tpl" --endpoint "$MOTO_URL" --moto --stack stack-lag -p HostName=hsm-fwd-1 \
    -p LagThresholdSeconds=120 >"$work/lag.out" 2>"$work/lag.err"; then
    echo "ok: forwarder lagging: $(tail -n 1 "$work/lag.err")"
else
    cat "$work/lag.out" "$work/lag.err"; echo "FAIL: forwarder lagging"; fail=1
fi
moto_aws cloudwatch describe-alarms --alarm-name-prefix hsm-audit-forwarder- --output json \
    >"$work/lag_alarms.json" || { echo "FAIL: describe-alarms"; fail=1; }
python3 - "$work/lag_alarms.json" <<'PY' || fail=1
import json, sys
al = {a["MetricName"]: a for a in json.load(open(sys.argv[1]))["MetricAlarms"]}
lag, backlog = al.get("OldestUnackedAgeSeconds"), al.get("PendingBytes")
ok = (lag is not None and backlog is not None
      and lag["AlarmName"] == "hsm-audit-forwarder-lagging-hsm-fwd-1"
      and lag["Namespace"] == "HsmAuditForwarder" == backlog["Namespace"]
      and lag["Dimensions"] == [{"Name": "Host", "Value": "hsm-fwd-1"}]
      and lag["Threshold"] == 120.0 and lag["ComparisonOperator"] == "GreaterThanThreshold"
      and lag["Statistic"] == "Maximum" and lag["TreatMissingData"] == "breaching")
print(("ok" if ok else "FAIL") + ": lagging alarm read back: %s" % (
    {k: lag.get(k) for k in ("AlarmName", "Namespace", "Dimensions", "Threshold")} if lag else al))
sys.exit(0 if ok else 1)
PY

# 3. The checker fails a wrong template (so its passing means something).
sed 's/      FilterPattern: /      FilterPatern: /' "$tpl" >"$work/typo.yaml"
sed 's/      Threshold: 1$/      Threshold: one/' "$tpl" >"$work/nan.yaml"
for bad in typo nan; do
    if python3 "$HAF_SOURCE_DIR/tests/tools/cfn_requests.py" "$work/$bad.yaml" >"$work/$bad.out" 2>&1; then
        echo "FAIL: the $bad template validated"; fail=1
    else
        echo "ok: the $bad template is refused ($(grep -m1 -o 'Unknown parameter[^,]*\|Invalid type[^,]*\|Missing required[^,]*' "$work/$bad.out" || true))"
    fi
done
exit "$fail"
