#!/usr/bin/env bash
# daemon_inflight_interleave.sh: the request in flight at a kill -9 comes from one file of a stream
# fed by two; after the restart the other file is read first. The checking front holds the first
# PutLogEvents (b.log's 100 events) for a few seconds, then applies it; the daemon is killed while
# it waits. a.log (100 other entries, older) appears, and the daemon restarts with
# batch.max_events 10: its first batches hold only a.log's entries, none of the request's.
# Regression: a read-back that found none of a batch's events settled the request, and b.log's 100
# were sent twice. Now the state records, per file, how far its bytes went into the request in
# flight, and exactly the batches holding those entries are read back. About 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/inflight-interleave
haf_gen "$T/audit/b.log" 1000 100
haf_config "$G" "hsm"
haf_batch_max_events 100
front_hold_puts_then_kill 6 100
cp "$T/state/state.json" "$T/state-at-kill.json"
front_release_held "$G" 1000 1099

haf_gen "$T/audit/a.log" 0 100
touch -d '-1 hour' "$T/audit/a.log"
haf_batch_max_events 10
haf_start
out=$(haf_wait_delivered "$G" 0 99 30) || { echo "$out"; haf_fail "a.log's entries not delivered once"; }
out=$(haf_wait_delivered "$G" 1000 1099 30) || { echo "$out"; haf_fail "b.log's entries not delivered once"; }
echo "$out"
sleep 1
haf_stop
out=$(haf_check "$G" 0 99) || { echo "$out"; haf_fail "a.log's entries not exactly once"; }
out=$(haf_check "$G" 1000 1099) || { echo "$out"; haf_fail "b.log's entries not exactly once"; }
echo "$out"
found=$(grep -o 'read-back found [0-9]* of' "$T/daemon.log" | awk '{s += $3} END {print s + 0}')
[ "$found" = 100 ] || haf_fail "the read-backs found $found events delivered, not the 100 held"
grep -Eq '"sent_end": ?"[1-9]' "$T/state-at-kill.json" ||
    haf_fail "the state file did not record b.log's bytes in flight: $(cat "$T/state-at-kill.json")"
front_assert_clean
echo "PASS daemon_inflight_interleave"
