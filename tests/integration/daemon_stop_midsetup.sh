#!/usr/bin/env bash
# daemon_stop_midsetup.sh: a stop while a stream cannot get through its setup. The checking front
# holds every CreateLogStream for 60 s (each attempt times out after 10 s and is tried again); the
# daemon is stopped while it waits. Nothing can be delivered, so the stop waits for its deadline
# (20 s) and tears down with a create in flight or about to be retried: answers cancelled at
# teardown must not reach freed streams or ask for anything more through the freed client (the
# sanitizer build reports either). Asserted: exit 0 after the deadline, no sanitizer report, and
# every entry delivered exactly once after a restart with the front answering. About 40 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start
curl -s --max-time 5 -X POST --data "{\"stream\": \"\", \"stall_ops\": [\"CreateLogStream\"], \"stall_until\": $(($(date +%s) + 60))}" \
    "$FRONT_URL/_front/targeted" >/dev/null || haf_fail "cannot set the front's targeted faults"

G=/cloudhsm/stop-midsetup
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G" "hsm" "retention_days: 7"
haf_start -vv
haf_wait_log "STATE CREATING_GROUP => CREATING_STREAM" 15 || haf_fail "no CreateLogStream sent"
sleep 0.5
[ "$(front_stat 's["stalled"]')" -ge 1 ] || haf_fail "no request held at the front"
haf_stop
grep -q 'stop deadline reached' "$T/daemon.log" || haf_fail "the stop did not wait for its deadline"
grep -E 'ERROR: AddressSanitizer|runtime error' "$T/daemon.log" && haf_fail "sanitizer report"

# The front answers again: everything arrives, once.
curl -s --max-time 5 -X POST --data '{"stream": "", "stall_ops": []}' "$FRONT_URL/_front/targeted" \
    >/dev/null || haf_fail "cannot clear the front's targeted faults"
haf_start
out=$(haf_wait_delivered "$G" 0 19 30) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
haf_stop
front_assert_clean
echo "PASS daemon_stop_midsetup"
