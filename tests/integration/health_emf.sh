#!/usr/bin/env bash
# health_emf.sh: the daemon's health as CloudWatch Embedded Metric Format records (health_emit.c)
# against moto_server with IAM auth on. health.interval_s 1, a flush interval of 2.5 s (so that
# entries wait in a batch and the records see the lag), digests on with an Ed25519 key file.
#   1. 200 entries, then 50 more: the data stream gets every entry exactly once
#      (check_delivery.py); the health stream is <hostname>.health in the source's group and has
#      no digest stream of its own.
#   2. The health stream read back with the real AWS CLI (read-only auditor credentials) passes
#      tests/tools/check_health.py: every record is an EMF document as the specification requires,
#      and the values agree with what was shipped (sum of EntriesShipped == events in the data
#      stream, SequenceGaps == the sequence_gap markers, DigestsShipped <= digest records, a lag
#      seen and gone, Retries <= the daemon's own count).
#   3. verify over every stream of the group (--log-stream-prefix covering the data, digest and
#      health streams) exits 0, says it skipped the health stream, and lists it under "skipped"
#      with --format json.
#      report over the group counts the 250 entries and no health record; an EMF record
#      injected into the data stream makes verify exit 1 naming it injected.
#   4. Another group, 50 entries, then 20 after a sequence gap of 10: the records' SequenceGaps sum to the
#      one sequence_gap marker (and every other check of 2 holds there too).
#   5. A health stream equal to the data stream is refused at start (exit non-zero, the reason
#      logged).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
haf_setup
moto_start || exit $?

H=$(hostname)
G=/hsm/health
auditor=(env AWS_ACCESS_KEY_ID="$HAF_READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_READER_SECRET")
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null || haf_fail "openssl pkey"
extra="digest:
  enabled: true
  interval_s: 2
  key_file: $T/key.pem
health:
  enabled: true
  interval_s: 1"
# events GROUP STREAM OUT: {"timestamp","message"} per line, read with the AWS CLI as the auditor.
events() {
    "${auditor[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs get-log-events \
        --log-group-name "$1" --log-stream-name "$2" --start-from-head --output json \
        >"$T/ev.json" || haf_fail "get-log-events $1/$2"
    python3 -c 'import json,sys
for e in json.load(open(sys.argv[1]))["events"]:
    print(json.dumps({"timestamp": e["timestamp"], "message": e["message"]}))' "$T/ev.json" >"$3"
}

# 1. Lag, delivery, lag, delivery again.
HAF_FLUSH_MS=2500 haf_config "$G" "$H.{file}" "$extra"
touch "$T/audit/hsm.log"
haf_start
haf_wait_log "health: EMF records every 1 s to $G/$H.health" 10 || haf_fail "health not set up"
sleep 1
haf_gen "$T/audit/hsm.log" 0 200
haf_wait_delivered "$G" 0 199 30 || haf_fail "0..199 not delivered"
sleep 3
haf_gen "$T/audit/hsm.log" 200 50
haf_wait_delivered "$G" 0 249 30 || haf_fail "200..249 not delivered"
sleep 3
haf_stop
haf_check "$G" 0 249 || haf_fail "0..249 not exactly once"
streams=$("${auditor[@]}" aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs \
    describe-log-streams --log-group-name "$G" --query 'logStreams[].logStreamName' --output text)
echo "health_emf: streams: $streams"
for s in "$H.hsm.log" "$H.hsm.log.digest" "$H.health"; do
    grep -qw -- "$s" <<<"$streams" || haf_fail "stream $s missing"
done
grep -q -- "$H.health.digest" <<<"$streams" && haf_fail "the health stream got a digest chain"

# 2. The records, checked independently.
# check_group GROUP: the health records of GROUP against its data and digest streams.
check_group() {
    local retries rc
    events "$1" "$H.health" "$T/health.jsonl"
    events "$1" "$H.hsm.log" "$T/data.jsonl"
    events "$1" "$H.hsm.log.digest" "$T/digests.jsonl"
    retries=$(grep -o 'retries=[0-9]*' "$T/daemon.log" | tail -n 1 | cut -d= -f2)
    python3 "$HAF_SOURCE_DIR/tests/tools/check_health.py" "$T/health.jsonl" "$T/data.jsonl" \
        "$T/digests.jsonl" --host "$H" --namespace HsmAuditForwarder --max-age 5 \
        --max-retries "${retries:-0}" >"$T/check.out"
    rc=$?
    cat "$T/check.out"
    [ "$rc" = 0 ] || haf_fail "check_health.py ($1)"
}
check_group "$G"
# The alarm example (conf/cloudwatch/forwarder-lagging-alarm.yaml) watches metrics, a namespace
# and a dimension these very records publish.
python3 - "$HAF_SOURCE_DIR/conf/cloudwatch/forwarder-lagging-alarm.yaml" "$T/health.jsonl" <<'PY' ||
import json, sys
import yaml

class Loader(yaml.SafeLoader):
    pass

Loader.add_multi_constructor("!", lambda l, s, n: l.construct_scalar(n) if isinstance(n, yaml.ScalarNode) else None)
tpl = yaml.load(open(sys.argv[1]), Loader=Loader)
ns = tpl["Parameters"]["MetricNamespace"]["Default"]
for line in open(sys.argv[2]):
    doc = json.loads(json.loads(line)["message"])
    d = doc["_aws"]["CloudWatchMetrics"][0]
    names = [m["Name"] for m in d["Metrics"]]
    for r in tpl["Resources"].values():
        p = r["Properties"]
        assert p["MetricName"] in names and d["Namespace"] == ns, (p["MetricName"], names)
        assert [x["Name"] for x in p["Dimensions"]] in d["Dimensions"], d["Dimensions"]
print("health_emf: the lagging alarm's metrics are in every record")
PY
    haf_fail "the alarm template does not match the records"

# 3. verify over every stream of the group.
got=0
"${auditor[@]}" timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" \
    --log-stream-prefix "$H." --public-key "$T/pub.pem" >"$T/verify.out" 2>&1 || got=$?
cat "$T/verify.out"
[ "$got" = 0 ] || haf_fail "verify over the group exited $got"
grep -q "stream $G/$H.health: skipped: [0-9]* health records (CloudWatch EMF), not audit data" \
    "$T/verify.out" || haf_fail "verify did not say it skipped the health stream"
grep -q "PROVEN" "$T/verify.out" || haf_fail "the data stream was not proven"
got=0
"${auditor[@]}" timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" \
    --log-stream-prefix "$H." --public-key "$T/pub.pem" --format json >"$T/verify.json" \
    2>"$T/verify.err" || got=$?
[ "$got" = 0 ] || haf_fail "verify --format json exited $got"
python3 - "$T/verify.json" "$H.health" <<'PY' || haf_fail "verify --format json"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["proven"] is True, v
assert [s["stream"] for s in v["skipped"]] == [sys.argv[2]], v["skipped"]
assert sys.argv[2] not in [s.get("stream") for s in v["streams"]], v["streams"]
PY
echo "health_emf: verify over the group exits 0 and skips the health stream"
# report over the group: the health records are neither entries nor unreadable events.
"${auditor[@]}" timeout 120 "$HAF_BIN" report -c "$T/haf.yaml" --log-group "$G" --format json \
    >"$T/report.json" 2>"$T/report.err" || { cat "$T/report.err"; haf_fail "report exited non-zero"; }
python3 - "$T/report.json" "$H.health" <<'PY' || haf_fail "report counts health records"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["entries"] == 250 and r["unreadable"] == 0, (r["entries"], r["unreadable"])
assert sys.argv[2] not in [h.get("stream") for h in r["hsms"]], r["hsms"]
PY
echo "health_emf: report over the group counts 250 entries, no health record"
# A health-shaped record injected into the data stream is not skipped: it is an injected event.
inj=$(python3 -c 'import json,sys; print(json.dumps([{"timestamp": int(sys.argv[1]), "message": "{\"_aws\":{\"Timestamp\":1,\"CloudWatchMetrics\":[]},\"EntriesShipped\":0}"}]))' "$(($(date +%s) * 1000))")
env AWS_ACCESS_KEY_ID="$HAF_TAMPER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_TAMPER_SECRET" \
    aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" logs put-log-events \
    --log-group-name "$G" --log-stream-name "$H.hsm.log" --log-events "$inj" >/dev/null ||
    haf_fail "injection with the AWS CLI failed"
got=0
"${auditor[@]}" timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" \
    --log-stream-prefix "$H." --public-key "$T/pub.pem" >"$T/verify.out" 2>&1 || got=$?
[ "$got" = 1 ] && grep -q "injected 1" "$T/verify.out" ||
    { cat "$T/verify.out"; haf_fail "an EMF record injected into the data stream: exit $got"; }
echo "health_emf: an EMF record injected into the data stream is reported as injected"

# 4. A sequence gap, in another group (verify would rightly exit 1 there).
G2=/hsm/health-gap
HAF_FLUSH_MS=2500 haf_config "$G2" "$H.{file}" "$extra"
haf_start
haf_wait_log "health: EMF records every 1 s to $G2/$H.health" 10 || haf_fail "gap: no health"
sleep 1
haf_gen "$T/audit/hsm.log" 260 50
haf_wait_delivered "$G2" 260 309 30 || haf_fail "gap: 260..309 not delivered"
haf_gen "$T/audit/hsm.log" 320 20
haf_wait_delivered "$G2" 320 339 30 || haf_fail "gap: 320..339 not delivered"
sleep 3
haf_stop
check_group "$G2"
grep -q "SequenceGaps 1," "$T/check.out" || haf_fail "gap: SequenceGaps does not sum to 1"
echo "health_emf: a sequence gap is counted once"

# 5. A health stream that is an audit stream is refused at start.
haf_config "$G" "{file}" "health:
  enabled: true
  log_stream: hsm.log"
got=0
timeout 30 "$HAF_BIN" -f -v -c "$T/haf.yaml" >>"$T/daemon.out" 2>"$T/refused.log" || got=$?
[ "$got" != 0 ] && grep -q "health: the health stream $G/hsm.log is an audit stream" \
    "$T/refused.log" || { cat "$T/refused.log"; haf_fail "a health stream equal to an audit stream was accepted (exit $got)"; }
echo "health_emf: a health stream equal to an audit stream is refused"
echo "PASS health_emf"
