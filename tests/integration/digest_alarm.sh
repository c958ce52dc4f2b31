#!/usr/bin/env bash
# digest_alarm.sh: conf/cloudwatch/digest-heartbeat-alarm.yaml, the "forwarder silent" alarm.
# Checks that the template lints (cfn-lint, when installed), that its two metric filters'
# pattern matches every kind of digest record tests/digest_tool produces (digest, heartbeat,
# stop) and no audit event nor gap marker (tests/tools/filter_pattern.py, our evaluator of the
# documented JSON pattern syntax), that the per-stream dimension reads the record's "stream", and
# that the alarm is the one the issue asks for: two periods of the digest interval, fewer than one
# record, missing data breaching.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BUILD_DIR:?}"
src=$HAF_SOURCE_DIR
tpl=$src/conf/cloudwatch/digest-heartbeat-alarm.yaml
tool=$HAF_BUILD_DIR/tests/digest_tool
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "digest_alarm: $*"; exit 1; }

if command -v cfn-lint >/dev/null; then
    cfn-lint "$tpl" || fail "cfn-lint refused the template"
    echo "ok: cfn-lint"
else
    echo "note: cfn-lint not installed: template not linted"
fi

openssl genpkey -algorithm ed25519 -out "$work/k.pem" 2>/dev/null
chmod 600 "$work/k.pem"
printf '{"timestamp":1700000000001,"message":"a"}\n' >"$work/one.jsonl"
"$tool" --key-file "$work/k.pem" --stream "host/a.log" --every 1 <"$work/one.jsonl" >"$work/r1"
"$tool" --key-file "$work/k.pem" --stream "host/a.log" --stop </dev/null >"$work/r2"
"$tool" --key-file "$work/k.pem" --stream "host/a.log" </dev/null >"$work/r3"
cat "$work/r1" "$work/r2" "$work/r3" >"$work/records"
for k in digest stop heartbeat; do grep -q "\"kind\":\"$k\"" "$work/records" || fail "no $k record"; done

HAF_TPL=$tpl HAF_TOOLS=$src/tests/tools HAF_RECORDS=$work/records \
    HAF_AUDIT=$src/tests/data/audit/design_example.json python3 - <<'PY'
import json, os, sys
import yaml

sys.path.insert(0, os.environ["HAF_TOOLS"])
import filter_pattern


class Loader(yaml.SafeLoader):
    pass


# CloudFormation short forms (!Ref, !If, ...) as plain values: only the structure is checked here.
Loader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else
    loader.construct_mapping(node) if isinstance(node, yaml.MappingNode) else
    loader.construct_scalar(node)))
tpl = yaml.load(open(os.environ["HAF_TPL"]), Loader=Loader)
res = tpl["Resources"]
filters = [r for r in res.values() if r["Type"] == "AWS::Logs::MetricFilter"]
assert len(filters) == 2, filters
records = [l.rstrip("\n") for l in open(os.environ["HAF_RECORDS"])]
others = [open(os.environ["HAF_AUDIT"]).read().strip(),
          '{"event":"sequence_gap","time":"2026-01-01T00:00:00Z","reboot_counter":1,'
          '"expected_sequence_no":2,"received_sequence_no":4,"missing":2}',
          'Time: 01/24/18 17:44:25.013218, usecs:1516815865013218']
for f in filters:
    pat = f["Properties"]["FilterPattern"]
    for r in records:
        assert filter_pattern.matches(pat, r), ("record not counted", pat, r)
    for o in others:
        assert not filter_pattern.matches(pat, o), ("not a record but counted", pat, o)
dims = [d for f in filters for t in f["Properties"]["MetricTransformations"]
        for d in t.get("Dimensions", [])]
assert dims == [{"Key": "Stream", "Value": "$.stream"}], dims
assert all(json.loads(r)["stream"] == "host/a.log" for r in records)
alarm = [r for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
assert len(alarm) == 1
p = alarm[0]["Properties"]
assert p["TreatMissingData"] == "breaching", p
assert p["EvaluationPeriods"] == 2 and p["DatapointsToAlarm"] == 2, p
assert p["ComparisonOperator"] == "LessThanThreshold" and p["Threshold"] == 1, p
assert p["Statistic"] == "Sum" and p["Period"] == "DigestIntervalSeconds", p
print(f"ok: {len(records)} records counted, {len(others)} other events not; alarm: 2 x interval, "
      "missing data breaching")
PY
echo "digest_alarm: ok"
