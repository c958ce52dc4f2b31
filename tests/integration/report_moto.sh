#!/usr/bin/env bash
# report_moto.sh: `report --log-group` against moto_server with IAM auth on (tests/tools/moto.sh),
# through tests/tools/throttle_front.py (the 2nd GetLogEvents is throttled, the 1st
# DescribeLogStreams answered 503; both must be retried). A CloudHSM-style group
# (/aws/cloudhsm/<cluster>: one stream per HSM, one raw audit entry per event) and one of our own
# (our JSON events) hold the entries of tests/tools/report_corpus.py's files; a "*.digest" stream
# with other content must be skipped. Read with the read-only haf-reader user, 100 events per page
# (several pages per stream), the endpoint and region coming from the daemon's config (-c), the
# reports of both groups must equal the report of the files (all but "sources"), and the front
# must have failed the two requests. A wrong secret gets exit 1 and a message naming the refusal.
set -euo pipefail
: "${HAF_BIN:?}" "${HAF_SOURCE_DIR:?}"
source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
tools="$HAF_SOURCE_DIR/tests/tools"
work=$(mktemp -d)
front_pid=
cleanup() {
    if [ -n "$front_pid" ]; then
        kill "$front_pid" 2>/dev/null || true
        wait "$front_pid" 2>/dev/null || true
    fi
    moto_stop
    rm -rf "$work"
}
MOTO_NO_TRAP=1
trap cleanup EXIT
fail() { echo "report_moto: $*"; exit 1; }
rc=0
moto_start || rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; fail "moto_start failed"; }

start=$(( ($(date +%s) - 26 * 3600) * 1000000 ))
python3 "$tools/report_corpus.py" --dir "$work/in" --start-usecs "$start" --seed 3
"$HAF_BIN" report --format json "$work"/in/*.log >"$work/files.json"

raw_group="/aws/cloudhsm/cluster-haf$$"
our_group="haf-report-$$"
moto_aws logs create-log-group --log-group-name "$raw_group"
moto_aws logs create-log-group --log-group-name "$our_group"
# Event batches for the AWS CLI: raw entries per HSM stream, and our JSON events of the same.
python3 - "$work" <<'PY'
import json, os, subprocess, sys
work = sys.argv[1]
src = os.path.join(work, "in")
for name in sorted(os.listdir(src)):
    if not name.endswith(".log"):
        continue
    hsm = name[:-4]
    text = open(os.path.join(src, name), encoding="utf-8").read()
    entries = [e.strip("\n") for e in text.split("\n\n") if e.strip()]
    raw = [{"timestamp": int(e.split("usecs:", 1)[1].split("\n", 1)[0]) // 1000, "message": e}
           for e in entries]
    with open(os.path.join(work, hsm + ".raw.json"), "w") as f:
        json.dump(raw, f)
    out = subprocess.run([os.environ["HAF_BIN"], "parse", "--format", "json",
                          os.path.join(src, name)], check=True, capture_output=True, text=True)
    ours = [{"timestamp": json.loads(line)["usecs"] // 1000, "message": line}
            for line in out.stdout.splitlines()]
    with open(os.path.join(work, hsm + ".ours.json"), "w") as f:
        json.dump(ours, f)
PY
for f in "$work"/*.raw.json; do
    hsm=$(basename "$f" .raw.json)
    moto_aws logs create-log-stream --log-group-name "$raw_group" --log-stream-name "$hsm"
    moto_aws logs put-log-events --log-group-name "$raw_group" --log-stream-name "$hsm" \
        --log-events "file://$f" >/dev/null
    moto_aws logs create-log-stream --log-group-name "$our_group" --log-stream-name "$hsm"
    moto_aws logs put-log-events --log-group-name "$our_group" --log-stream-name "$hsm" \
        --log-events "file://$work/$hsm.ours.json" >/dev/null
done
moto_aws logs create-log-stream --log-group-name "$raw_group" --log-stream-name "hsm-x.digest"
printf '[{"timestamp": %d, "message": "{\\"digest\\": 1}"}]' "$(( $(date +%s) * 1000 ))" >"$work/digest.json"
moto_aws logs put-log-events --log-group-name "$raw_group" --log-stream-name "hsm-x.digest" \
    --log-events "file://$work/digest.json" >/dev/null

python3 "$tools/throttle_front.py" --upstream "$MOTO_URL" --fail GetLogEvents:2:throttle \
    --fail DescribeLogStreams:1:5xx --port-file "$work/port" --max-seconds 300 >/dev/null &
front_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "throttle_front did not start"
front="http://127.0.0.1:$(cat "$work/port")"
cat >"$work/haf.yaml" <<YAML
region: $AWS_REGION
endpoint: $front
state_dir: $work/state
sources:
  - path: /var/log/cloudhsm/*.log
    log_group: unused
YAML
chmod 600 "$work/haf.yaml"

export AWS_ACCESS_KEY_ID="$HAF_READER_KEY_ID" AWS_SECRET_ACCESS_KEY="$HAF_READER_SECRET"
unset AWS_ENDPOINT_URL_LOGS AWS_ENDPOINT_URL
t0=$(date +%s%N)
timeout 240 "$HAF_BIN" report -c "$work/haf.yaml" --format json --page-size 100 \
    --log-group "$raw_group" >"$work/raw.json" 2>"$work/raw.err" ||
    { cat "$work/raw.err"; fail "report of $raw_group failed"; }
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# Progress on stderr once a run takes more than a second (and only then).
if [ "$took_ms" -gt 2500 ]; then
    grep -q 'hsm-audit-forwarder report: .* s: .*entries so far' "$work/raw.err" ||
        { cat "$work/raw.err"; fail "no progress on stderr after $took_ms ms"; }
elif [ "$took_ms" -lt 900 ] && [ -s "$work/raw.err" ]; then
    cat "$work/raw.err"; fail "progress on stderr for a run of $took_ms ms"
fi
python3 "$tools/report_check.py" same "$work/files.json" "$work/raw.json" ||
    fail "the CloudHSM-style group gives another report than the files"
[ "$(jq -r .unreadable "$work/raw.json")" = 0 ] || fail "the .digest stream was read"
[ "$(jq -r .digests.streams "$work/raw.json")" = 1 ] || fail "the .digest stream was not noted"
jq -r .digests.summary "$work/raw.json" | grep -q 'run hsm-audit-forwarder verify' ||
    fail "the digest summary does not point to verify"
timeout 240 "$HAF_BIN" report -c "$work/haf.yaml" --format json --page-size 100 \
    --log-group "$our_group" --log-stream-prefix hsm- >"$work/ours.json" 2>"$work/ours.err" ||
    { cat "$work/ours.err"; fail "report of $our_group failed"; }
python3 "$tools/report_check.py" same "$work/files.json" "$work/ours.json" ||
    fail "our JSON group gives another report than the files"
failed=$(curl -s --max-time 5 "$front/_front/stats" | jq -c '.failed | sort')
want='[["DescribeLogStreams",1,"5xx"],["GetLogEvents",2,"throttle"]]'
[ "$failed" = "$want" ] || fail "front failed $failed, want $want"
pages=$(curl -s --max-time 5 "$front/_front/stats" | jq '.requests.GetLogEvents')
[ "$pages" -ge 30 ] || fail "only $pages GetLogEvents requests: pagination not exercised"

# A wrong secret: refused (SignatureDoesNotMatch), exit 1, the refusal named.
export AWS_SECRET_ACCESS_KEY="not-the-secret-not-the-secret-not-the-sec"
rc=0
"$HAF_BIN" report -c "$work/haf.yaml" --log-group "$our_group" >/dev/null 2>"$work/denied.err" || rc=$?
[ "$rc" = 1 ] || fail "denied reader: exit $rc, want 1"
grep -q "access-denied: SignatureDoesNotMatch" "$work/denied.err" ||
    { cat "$work/denied.err"; fail "the refusal is not reported"; }
echo "report_moto: ok ($(jq -r .entries "$work/raw.json") entries from each group over $pages GetLogEvents requests; retried a throttled and a 503 answer)"
