#!/usr/bin/env bash
# daemon_inflight_rebatch.sh: a request in flight at a kill -9 whose entries are batched otherwise
# after the restart arrives exactly once. The checking front holds the first PutLogEvents (100
# events: batch.max_events 100) for a few seconds, then applies it; the daemon is killed while it
# waits and restarted with batch.max_events 10 (a smaller share of the memory budget does the
# same). The restart's first batch holds only 10 of the 100 events that arrived; regression: it was
# the only one read back, and the other 90 were sent twice. Now every batch holding one of its
# entries (the state records how far each file's bytes went into it) is read back. About 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/inflight-rebatch
haf_gen "$T/audit/hsm.log" 0 300
haf_config "$G" "hsm"
haf_batch_max_events 100
front_hold_puts_then_kill 6 100
cp "$T/state/state.json" "$T/state-at-kill.json"
front_release_held "$G" 0 99

haf_batch_max_events 10
haf_start
out=$(haf_wait_delivered "$G" 0 299 30) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
haf_stop
found=$(grep -o 'read-back found [0-9]* of' "$T/daemon.log" | awk '{s += $3} END {print s + 0}')
[ "$found" = 100 ] || haf_fail "the read-backs found $found events delivered, not the 100 held"
grep -q 'found so far; later batches holding its entries are read back too' "$T/daemon.log" ||
    haf_fail "the batches after the first were not read back"
grep -Eq '"inflight_events": ?"100"' "$T/state-at-kill.json" ||
    haf_fail "the state file did not record the 100 events in flight: $(cat "$T/state-at-kill.json")"
front_assert_clean
echo "PASS daemon_inflight_rebatch"
