#!/usr/bin/env bash
# daemon_dry_run.sh: --dry-run does everything but the HTTP send. With 50 entries in a file,
# `--dry-run --once` exits 0 and prints exactly one JSON line per event on stdout (nothing else
# there): an object with exactly logGroupName, logStreamName, timestamp and message, the message
# being the entry's JSON (sequence 0..49 in order, timestamp = usecs / 1000). The endpoint (the
# checking front) receives no request at all, and no state is written (no state.json, so a
# real run afterwards starts from the beginning). Then plain `--dry-run` (no --once) keeps
# following the file: an appended entry is printed, and SIGTERM stops it with exit 0.
# Bounded: about 5 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/dry-run
haf_gen "$T/audit/hsm.log" 0 50
haf_config "$G" "hsm"
timeout 30 "$HAF_BIN" --dry-run --once -c "$T/haf.yaml" >"$T/dry.out" 2>"$T/daemon.log"
rc=$?
[ "$rc" = 0 ] || haf_fail "--dry-run --once exited $rc"
python3 - "$T/dry.out" "$G" 0 49 <<'PY' || haf_fail "dry-run output is not one event per line as specified"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
first, last = int(sys.argv[3]), int(sys.argv[4])
assert len(lines) == last - first + 1, "%d lines" % len(lines)
for i, line in enumerate(lines):
    ev = json.loads(line)
    assert sorted(ev) == ["logGroupName", "logStreamName", "message", "timestamp"], sorted(ev)
    assert ev["logGroupName"] == sys.argv[2] and ev["logStreamName"] == "hsm", ev
    m = json.loads(ev["message"])
    assert m["sequence_no"] == first + i and m["reboot_counter"] == 263, m
    assert ev["timestamp"] == m["usecs"] // 1000, (ev["timestamp"], m["usecs"])
    assert "parse_error" not in m, m
print("dry-run: %d events, one JSON line each" % len(lines))
PY
[ "$(front_stat 's["requests"]')" = 0 ] || haf_fail "the endpoint was contacted in dry-run"
[ -e "$T/state/state.json" ] && haf_fail "dry-run wrote a state file"

"$HAF_BIN" --dry-run -c "$T/haf.yaml" >"$T/dry2.out" 2>>"$T/daemon.log" &
HAF_PID=$!
for _ in $(seq 1 50); do
    [ "$(wc -l <"$T/dry2.out")" -ge 50 ] && break
    sleep 0.1
done
haf_gen "$T/audit/hsm.log" 50 1
for _ in $(seq 1 50); do
    [ "$(wc -l <"$T/dry2.out")" -ge 51 ] && break
    sleep 0.1
done
python3 - "$T/dry2.out" "$G" 0 50 <<'PY' || haf_fail "plain --dry-run did not print the appended entry"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 51, len(lines)
assert json.loads(json.loads(lines[-1])["message"])["sequence_no"] == 50
PY
haf_stop
[ "$(front_stat 's["requests"]')" = 0 ] || haf_fail "the endpoint was contacted in dry-run"
[ -e "$T/state/state.json" ] && haf_fail "dry-run wrote a state file"
echo "PASS daemon_dry_run"
