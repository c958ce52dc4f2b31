#!/usr/bin/env bash
# daemon_once.sh: --once. (1) A backlog of 3000 entries with batch.max_events: 10 (so one read of
# the file makes far more batches than the daemon's ring holds: the feed must pause and resume,
# not abort) is shipped by `--once`, which exits 0 with the state saved (offset = file size, no
# request in flight) and every entry delivered exactly once. (2) A second `--once` ships nothing
# (no PutLogEvents reaches the endpoint) and exits 0. (3) 100 more entries and `--once` against a
# dead endpoint (nothing listens): exits non-zero within 20 s (--once caps its retry backoff at
# 2 s), the state unchanged (offsets and sequence, no in-flight marker left behind), and a
# following `--once` against the live endpoint ships exactly those 100: nothing was lost.
# Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/once
haf_gen "$T/audit/hsm.log" 0 3000
haf_config "$G" "hsm" "  max_events: 10"
grep -q "max_events: 10" "$T/haf.yaml" || haf_fail "config"

once() {
    timeout 60 "$HAF_BIN" --once -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log"
}
state_summary() {
    python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
print([(f["ino"], f["offset"]) for f in st["files"]],
      [(s["group"], s.get("sequence_no"), bool(s.get("inflight"))) for s in st["streams"]])' \
        "$T/state/state.json"
}

t0=$SECONDS
once
rc=$?
echo "first --once: exit $rc after $((SECONDS - t0)) s"
[ "$rc" = 0 ] || haf_fail "first --once exited $rc"
grep -q "internal: batch ring" "$T/daemon.log" && haf_fail "the batch ring overflowed"
out=$(haf_wait_exact "$G" 0 2999 5) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
size=$(stat -c %s "$T/audit/hsm.log")
python3 - "$T/state/state.json" "$size" <<'PY' || haf_fail "state after --once"
import json, sys
st = json.load(open(sys.argv[1]))
assert [int(f["offset"]) for f in st["files"]] == [int(sys.argv[2])], st["files"]
assert [int(s["sequence_no"]) for s in st["streams"]] == [2999], st["streams"]
assert not any(s.get("inflight") for s in st["streams"]), st["streams"]
PY
puts=$(front_stat 's["requests_by_op"].get("PutLogEvents", 0)')
echo "PutLogEvents requests: $puts"
[ "$puts" -ge 300 ] || haf_fail "expected at least 300 requests of 10 events"

once || haf_fail "second --once exited $?"
[ "$(front_stat 's["requests_by_op"].get("PutLogEvents", 0)')" = "$puts" ] ||
    haf_fail "the second --once sent something"

haf_gen "$T/audit/hsm.log" 3000 100
before=$(state_summary)
live=$HAF_ENDPOINT
HAF_ENDPOINT="http://127.0.0.1:$(moto_free_port)" haf_config "$G" "hsm" "  max_events: 10"
t0=$SECONDS
once
rc=$?
echo "--once against a dead endpoint: exit $rc after $((SECONDS - t0)) s"
[ "$rc" != 0 ] || haf_fail "--once against a dead endpoint exited 0"
[ "$rc" != 124 ] || haf_fail "--once against a dead endpoint did not give up within 60 s"
[ $((SECONDS - t0)) -le 20 ] || haf_fail "--once took more than 20 s to give up"
[ "$(state_summary)" = "$before" ] || haf_fail "state changed: $before -> $(state_summary)"

HAF_ENDPOINT=$live haf_config "$G" "hsm" "  max_events: 10"
once || haf_fail "--once after the outage exited $?"
out=$(haf_wait_exact "$G" 0 3099 5) || { echo "$out"; haf_fail "not exactly 0..3099 after the outage"; }
echo "$out"
front_assert_clean
echo "PASS daemon_once"
