#!/usr/bin/env bash
# The main job end to end, on this machine: builds the daemon, starts a local CloudWatch Logs
# endpoint (moto_server with IAM authentication on, so every request must carry a valid SigV4
# signature from a user whose policy allows it), writes a sample CloudHSM audit log, lets the real
# daemon ship it (--once: everything up to EOF, every acknowledgement awaited, state saved), and
# shows what arrived, read back with the AWS CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/install-deps.sh
echo "== building (Release)"
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DHAF_TESTS=OFF >/dev/null
cmake --build build-demo -j "$(nproc)" >/dev/null
bin=$top/build-demo/hsm-audit-forwarder

work=$(mktemp -d)
export MOTO_NO_TRAP=1
source tests/tools/moto.sh
cleanup() { moto_stop; rm -rf "$work"; }
trap cleanup EXIT
echo "== starting a local CloudWatch Logs endpoint (moto_server, IAM auth on)"
moto_start

# A sample audit log: 12 entries of an HSM with reboot counter 0x107 as the HSM writes them, with
# a gap (sequence numbers 0x8..0x9 missing) that the daemon marks in the stream.
mkdir -p "$work/audit" "$work/state"
chmod 700 "$work/state"
now=$(($(date +%s%N) / 1000 - 60000000))
python3 tests/bench/gen_audit.py -n 8 --start-seq 0 --start-usecs "$now" >"$work/audit/hsm-abc123.log"
python3 tests/bench/gen_audit.py -n 4 --start-seq 10 --start-usecs $((now + 30000000)) --seed 7 \
    >>"$work/audit/hsm-abc123.log"
cat >"$work/hsm-audit-forwarder.yaml" <<YAML
region: $AWS_REGION
endpoint: $MOTO_URL
state_dir: $work/state
create_log_group: true
retention_days: 365
sources:
  - path: $work/audit/*.log
    log_group: /cloudhsm/demo
    log_stream: "{hostname}/{file}"
    hsm_id: hsm-abc123
YAML
echo "== the first entry of the sample log"
sed -n '1,10p' "$work/audit/hsm-abc123.log"
echo "== shipping with: hsm-audit-forwarder --once -f -c $work/hsm-audit-forwarder.yaml"
"$bin" --once -f -c "$work/hsm-audit-forwarder.yaml"

echo "== what arrived in CloudWatch Logs (aws logs get-log-events, one event per line)"
stream=$(moto_aws logs describe-log-streams --log-group-name /cloudhsm/demo \
    --query 'logStreams[0].logStreamName' --output text)
moto_aws logs get-log-events --log-group-name /cloudhsm/demo --log-stream-name "$stream" \
    --start-from-head --query 'events[].message' --output json >"$work/arrived.json"
python3 - "$work/arrived.json" "$stream" <<'PY'
import json, sys
messages = json.load(open(sys.argv[1]))
for m in messages:
    print(m)
events = [json.loads(m) for m in messages]
entries = sorted(e["sequence_no"] for e in events if "sequence_no" in e and "event" not in e)
markers = [e for e in events if e.get("event") == "sequence_gap"]
print("== %d entries (sequence %s) and %d sequence-gap marker(s) arrived in /cloudhsm/demo/%s"
      % (len(entries), ",".join(map(str, entries)), len(markers), sys.argv[2]))
# The sample holds entries 0-7 and 10-13: all twelve must be there once, with one gap marker.
sys.exit(0 if entries == list(range(8)) + list(range(10, 14)) and len(markers) == 1 else 1)
PY
