#!/usr/bin/env bash
# daemon_recreate_reclock.sh, against moto_server with IAM auth on:
# 1. a log stream deleted while the daemon runs (aws logs delete-log-stream) is created again on the
#    next ResourceNotFoundException, and the entries written after the deletion arrive;
# 2. out_of_range: reclock: an entry 20 days old (CloudWatch would reject it) arrives with the
#    current time as its event timestamp, "reclocked": true, and its own time kept in the message;
# 3. SIGUSR1 logs the counters (reclocked=1 among them).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
haf_setup
moto_start || exit $?

G=/cloudhsm/recreate
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G"
haf_start
haf_wait_delivered "$G" 0 19 30 || haf_fail "first entries not delivered"

# The daemon's IAM user may not delete streams (its policy has only what the daemon needs): let
# exactly one unauthenticated action through (moto's reset-auth), the deletion, while the daemon
# has nothing to send.
curl -s -o /dev/null -X POST -H 'Content-Type: text/plain' --data 1 "$MOTO_URL/moto-api/reset-auth" ||
    haf_fail "reset-auth"
moto_aws logs delete-log-stream --log-group-name "$G" --log-stream-name hsm.log ||
    haf_fail "could not delete the stream"
haf_gen "$T/audit/hsm.log" 20 10
# The stream was deleted with entries 0..19 in it: only the new ones can come back.
deadline=$((SECONDS + 30))
until haf_check "$G" 20 29 --quiet >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { haf_check "$G" 20 29; haf_fail "entries after the deletion did not arrive"; }
    sleep 0.5
done
haf_wait_log "created log stream $G/hsm.log" 1 || haf_fail "stream not re-created"
grep -q "not found; creating it" "$T/daemon.log" || haf_fail "ResourceNotFound not handled"

# An entry from 20 days ago, sequence 30.
old=$(( $(date +%s) - 20 * 86400 ))
python3 "$HAF_SOURCE_DIR/tests/bench/gen_audit.py" -n 1 --start-seq 30 --reboot "$HAF_REBOOT" \
    --start-usecs "${old}000000" >>"$T/audit/hsm.log"
before_ms=$(( $(date +%s%N) / 1000000 ))
haf_wait_delivered "$G" 20 30 30 || haf_fail "the old entry did not arrive"
moto_aws logs get-log-events --log-group-name "$G" --log-stream-name hsm.log --start-from-head \
    --output json >"$T/events.json" || haf_fail "read-back failed"
python3 - "$T/events.json" "$before_ms" "$old" <<'PY' || haf_fail "reclocked entry not as documented"
import json, sys
events = json.load(open(sys.argv[1]))["events"]
before_ms, old = int(sys.argv[2]), int(sys.argv[3])
ev = [e for e in events if json.loads(e["message"]).get("sequence_no") == 30]
assert len(ev) == 1, ev
msg = json.loads(ev[0]["message"])
assert msg.get("reclocked") is True, msg
assert msg["usecs"] // 1000000 == old, (msg["usecs"], old)          # its own time is kept
assert ev[0]["timestamp"] >= before_ms - 5000, (ev[0]["timestamp"], before_ms)  # sent as "now"
print("reclocked entry: event time %d, entry time %s" % (ev[0]["timestamp"], msg["time"]))
PY

kill -USR1 "$HAF_PID"
haf_wait_log "counters: .*reclocked=1" 5 || haf_fail "SIGUSR1 did not log the counters"
haf_stop
echo "PASS daemon_recreate_reclock"
