#!/usr/bin/env bash
# Reliability: rotation out of the glob while the daemon is dead (issue 10 §1). The source's glob
# is the exact name audit.log, so every rotated file (audit.log.1, audit.log.2 ...) leaves the
# glob. A writer appends entries at a steady rate and rotates by rename every 400 entries while
# the daemon is killed with SIGKILL REL_KILLS times (default 10) at random moments and restarted
# after a random 0.3-2 s pause, so many rotations happen while it is down, some right after a
# kill that left requests in flight; two rotations within one outage leave a file the daemon never
# saw, found as a successor of the checkpointed one. Rotated files are kept. At the end every
# entry is in the log group exactly once (by (reboot_counter, sequence_no), through the API and
# the front's record), no request broke a CloudWatch rule, and no file_lost marker was needed.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup rotate_down
KILLS=${REL_KILLS:-10}
COUNT=${REL_ROTATE_DOWN_ENTRIES:-6000}
RATE=${REL_ROTATE_DOWN_RATE:-250}
G=/cloudhsm/reliability/rotate-down

rel_front_start --slow 0.2 --slow-seconds 0.3 --seed "${REL_SEED:-$RANDOM}"
REL_MAX_EVENTS=50 rel_config "$G" "$T/audit/audit.log" "{hostname}/hsm-rotate-down"
: >"$T/audit/audit.log"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/audit.log" \
    --count "$COUNT" --rate "$RATE" --chunk 1 --rotate-every 400 --rotate-mode rename \
    --keep 40 >"$T/writer.out" 2>&1 &
WRITER=$!
REL_BG_PIDS+=("$WRITER")
REL_WRITTEN=$COUNT

rel_kill_cycles "$KILLS" 0.3 2.5 2
kills=$KILLS

wait "$WRITER" || rel_fail "the writer failed: $(cat "$T/writer.out")"
haf_start
rel_wait_record 0 $((COUNT - 1)) 120 || rel_fail "not everything delivered exactly once"
haf_stop
found=$(grep -c 'rotated away while we were not running; found as' "$T/daemon.log")
unknown=$(grep -c 'was created and rotated away while we were not running' "$T/daemon.log")
lost=$(grep -c 'file lost' "$T/daemon.log")
rotated=$(ls "$T/audit" | grep -c 'audit.log\.')
REL_NOTE="$kills kills, $rotated rotations by rename out of the glob; checkpointed files found again after a restart: $found; files created and rotated away within one outage, adopted: $unknown; file_lost: $lost"
echo "$REL_NOTE"
[ "$found" -gt 0 ] || rel_fail "no rotation happened while the daemon was down (nothing tested)"
[ "$lost" = 0 ] || rel_fail "a file was reported lost although every rotated file was kept"
rel_verify "$G" 0 $((COUNT - 1))
echo "PASS reliability_rotate_down"
