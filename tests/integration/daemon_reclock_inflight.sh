#!/usr/bin/env bash
# daemon_reclock_inflight.sh: reclocked entries (older than CloudWatch's 14 days, sent with the time
# they were read) whose request was in flight at a kill -9 arrive exactly once. The checking front
# holds the first PutLogEvents for a few seconds, then applies it; the daemon is killed while it
# waits. The restart reads the entries again and reclocks them to a later time, so a read-back over
# the new batch's time range alone cannot see the events that arrived (regression: all 20 were
# sent twice). The state file keeps the time range of the request in flight, and the read-back
# covers it. About 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/reclock-inflight
old=$(($(date +%s) - 20 * 86400))
python3 "$HAF_SOURCE_DIR/tests/bench/gen_audit.py" -n 20 --start-seq 0 --reboot "$HAF_REBOOT" \
    --start-usecs "${old}000000" >"$T/audit/hsm.log" || haf_fail "gen_audit"
haf_config "$G" "hsm" "out_of_range: reclock"
front_hold_puts_then_kill 6 20
grep -Eq "\"inflight\": ?true" "$T/state/state.json" || haf_fail "no request marked in flight at the kill"
# The front applies the held request at $FRONT_RELEASE; then the restart (seconds later: a new reclock
# time) must find all 20 by reading back.
front_release_held "$G" 0 19
sleep 1
haf_start
haf_wait_log "read-back found 20 of 20 events delivered already" 20 ||
    haf_fail "the restart's read-back did not find the 20 events: $(grep -i 'read-back' "$T/daemon.log")"
sleep 1
haf_stop
out=$(haf_check "$G" 0 19) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
front_assert_clean
echo "PASS daemon_reclock_inflight"
