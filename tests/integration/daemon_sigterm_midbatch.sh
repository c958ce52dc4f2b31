#!/usr/bin/env bash
# daemon_sigterm_midbatch.sh: SIGTERM while a batch is in flight and more are being built. The
# daemon talks to moto_server (IAM auth on) through the checking front in proxy mode, which applies
# every PutLogEvents and then holds the answer for 2 s. With a backlog of 6000 entries (about three
# 1 MB batches) SIGTERM arrives as soon as the first batch is sent: the daemon must wait for that
# answer, send what it has batched, save the state and exit 0 well within its 20 s stop deadline
# (log "stopping", state saved with no request in flight). After a restart without the delay every
# entry is in CloudWatch exactly once: none of the acknowledged ones is sent again, none of the
# unsent ones is lost. Bounded: about 25 s (moto start included).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
moto_start || exit $?
front_start --mode proxy --upstream "$MOTO_URL" --slow 1 --slow-seconds 2

G=/cloudhsm/sigterm-midbatch
haf_gen "$T/audit/hsm.log" 0 6000
haf_config "$G" "hsm"
haf_start
haf_wait_log "sending [0-9]* events" 20 || haf_fail "no batch was sent"
t0=$SECONDS
kill -TERM "$HAF_PID"
for _ in $(seq 1 250); do
    kill -0 "$HAF_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$HAF_PID" 2>/dev/null && haf_fail "still running 25 s after SIGTERM"
wait "$HAF_PID"
rc=$?
HAF_PID=
echo "exit code $rc after $((SECONDS - t0)) s"
[ "$rc" = 0 ] || haf_fail "exit code $rc after SIGTERM"
grep -q "stopping: sending what is batched" "$T/daemon.log" || haf_fail "no 'stopping' log line"
grep -q "stop deadline reached" "$T/daemon.log" && haf_fail "the stop deadline was reached"
python3 - "$T/state/state.json" <<'PY' || haf_fail "state not saved as expected"
import json, sys
st = json.load(open(sys.argv[1]))
assert all(not s.get("inflight") for s in st["streams"]), st["streams"]
assert any(int(f["offset"]) > 0 for f in st["files"]), st["files"]
print("state: offset %s, last acknowledged sequence %s" % (
    st["files"][0]["offset"], st["streams"][0].get("sequence_no")))
PY
shipped=$(haf_check "$G" 0 5999 --quiet | sed -n 's/.*delivered \([0-9]*\).*/\1/p')
echo "delivered before the restart: $shipped of 6000"
[ "$shipped" -gt 0 ] || haf_fail "nothing delivered before the stop"

front_faults '{"slow": 0}'
haf_start
out=$(haf_wait_delivered "$G" 0 5999 30) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
grep -q "resuming at byte" "$T/daemon.log" || haf_fail "the restart did not resume from the checkpoint"
haf_stop
front_assert_clean
echo "PASS daemon_sigterm_midbatch"
