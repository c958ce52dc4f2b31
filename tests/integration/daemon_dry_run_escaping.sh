#!/usr/bin/env bash
# daemon_dry_run_escaping.sh: every JSON we print or send is JSON whatever the names hold (issue
# 11, finding 8). A file named 'we"ird\name.log' with log_stream '{file}/q"b\s' and a sequence
# gap, on a host whose name holds '"' and '\' (set in a UTS namespace of our own: needs root,
# skips with 77 otherwise). `--dry-run --once`: each stdout line parses as JSON, with the stream
# name and every entry's host and source exactly as they are. `--once` against the checking front:
# the sequence_gap marker event (host and source inserted by the daemon) read back through the
# CloudWatch Logs API parses as JSON with the same host and source. Bounded: about 4 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a hostname of our own)"; exit 77; }
haf_setup
front_start

G=/cloudhsm/dry-run-escaping
name='we"ird\name.log'
haf_gen "$T/audit/$name" 0 3
haf_gen "$T/audit/$name" 7 2
haf_write_config "sources:
  - path: $T/audit/*.log
    log_group: $G
    log_stream: '{file}/q\"b\\s'"
host='h"o\st'
# run_as_host ARGS...: the daemon with ARGS, its hostname $host.
run_as_host() {
    timeout 30 unshare --uts sh -c 'printf %s "$1" >/proc/sys/kernel/hostname && shift && exec "$@"' \
        sh "$host" "$HAF_BIN" "$@"
}
run_as_host --dry-run --once -c "$T/haf.yaml" >"$T/dry.out" 2>"$T/daemon.log"
rc=$?
[ "$rc" = 0 ] || haf_fail "--dry-run --once exited $rc"
python3 - "$T/dry.out" "$G" "$name" "$host" "$T/audit/$name" <<'PY' || haf_fail "a dry-run line is not the JSON it should be"
import json, sys
path, group, name, host, source = sys.argv[1:6]
lines = open(path, encoding="utf-8").read().splitlines()
assert len(lines) == 5, "%d lines, want 5 entries" % len(lines)
for line in lines:
    ev = json.loads(line)
    assert ev["logGroupName"] == group, ev
    assert ev["logStreamName"] == name + '/q"b\\s', ev["logStreamName"]
    m = json.loads(ev["message"])
    assert m["host"] == host and m["source"] == source, m
print("dry-run: %d JSON lines, names and host intact" % len(lines))
PY
[ "$(front_stat 's["requests"]')" = 0 ] || haf_fail "the endpoint was contacted in dry-run"

run_as_host --once -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" || haf_fail "--once failed"
python3 - "$HAF_ENDPOINT" "$G" "$name" "$host" "$T/audit/$name" <<'PY' || haf_fail "the marker event is not the JSON it should be"
import json, sys
import boto3
url, group, name, host, source = sys.argv[1:6]
logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
evs = logs.get_log_events(logGroupName=group, logStreamName=name + '/q"b\\s',
                          startFromHead=True)["events"]
msgs = [json.loads(e["message"]) for e in evs]
gaps = [m for m in msgs if m.get("event") == "sequence_gap"]
assert len(msgs) == 6 and len(gaps) == 1, (len(msgs), len(gaps))
assert gaps[0]["host"] == host and gaps[0]["source"] == source, gaps[0]
assert gaps[0]["expected_sequence_no"] == 3 and gaps[0]["received_sequence_no"] == 7, gaps[0]
print("marker: JSON with host %r" % gaps[0]["host"])
PY
front_assert_clean
echo "PASS daemon_dry_run_escaping"
