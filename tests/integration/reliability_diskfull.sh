#!/usr/bin/env bash
# Reliability: the state directory's file system is full. The state directory lives on a 64 KiB
# tmpfs (skipped with 77 when mounting is not permitted). After a first delivery the tmpfs is
# filled to the last byte and more entries are appended. The daemon must say clearly that it
# cannot write its state, keep running, and send nothing it could not record as in flight (the
# front receives nothing new); state.json must stay the last good one (valid JSON, no leftover
# temporary file). A kill -9 and a restart while the disk is still full must not lose or corrupt
# anything either. When space returns, it resumes on its own, and every entry arrives exactly
# once, by (reboot_counter, sequence_no), through the CloudWatch Logs API and the front's record.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup diskfull
G=/cloudhsm/reliability/diskfull

mkdir -p "$T/statefs"
if ! mount -t tmpfs -o size=64k,mode=0700 tmpfs "$T/statefs" 2>"$T/mount.err"; then
    echo "SKIP: cannot mount a tmpfs here: $(cat "$T/mount.err")"
    REL_NOTE="skipped: mount not permitted"
    rel_result SKIP - - -
    exit 77
fi
rel_extra_cleanup() { umount "$T/statefs" 2>/dev/null || umount -l "$T/statefs" 2>/dev/null; }
REL_STATE_DIR=$T/statefs/state
mkdir -m 700 "$REL_STATE_DIR"

rel_front_start --seed "${REL_SEED:-$RANDOM}"
rel_config "$G" "$T/audit/*.log" "{hostname}/hsm-diskfull"
haf_gen "$T/audit/hsm.log" 0 500
haf_start
rel_wait_record 0 499 30 || rel_fail "the first 500 entries were not delivered"
sleep 1 # the state after the last acknowledgement is saved before anything else is sent

# Fill the file system: whatever the daemon writes next fails with ENOSPC.
dd if=/dev/zero of="$T/statefs/filler" bs=1k count=64 2>/dev/null
dd if=/dev/zero of="$T/statefs/filler2" bs=64 count=64 2>/dev/null
df -k "$T/statefs" | tail -n 1
cp "$REL_STATE_DIR/state.json" "$T/state.before"
accepted0=$(rel_front_stat 's["accepted_events"]')
haf_gen "$T/audit/hsm.log" 500 500
REL_WRITTEN=1000
haf_wait_log "cannot write the state file" 15 || rel_fail "no clear error about the state file"
sleep 3
accepted1=$(rel_front_stat 's["accepted_events"]')
[ "$accepted1" = "$accepted0" ] ||
    rel_fail "the daemon sent $((accepted1 - accepted0)) events it could not record as in flight"
python3 -m json.tool "$REL_STATE_DIR/state.json" >/dev/null || rel_fail "state.json is corrupt"
[ ! -e "$REL_STATE_DIR/state.json.tmp" ] || [ ! -s "$REL_STATE_DIR/state.json.tmp" ] ||
    rel_fail "a partial state.json.tmp was left behind"
kill -0 "$HAF_PID" || rel_fail "the daemon died on a full disk"

# kill -9 while full, then a restart on the full disk.
kill -9 "$HAF_PID"
wait "$HAF_PID" 2>/dev/null
HAF_PID=
cmp -s "$REL_STATE_DIR/state.json" "$T/state.before" || rel_fail "state.json changed on a full disk"
haf_start
sleep 3
kill -0 "$HAF_PID" 2>/dev/null || rel_fail "the daemon did not start on a full state file system"
accepted2=$(rel_front_stat 's["accepted_events"]')
[ "$accepted2" = "$accepted0" ] || rel_fail "the restarted daemon sent events it could not record"

# Space returns.
rm -f "$T/statefs/filler" "$T/statefs/filler2"
haf_wait_log "written again; deliveries resume" 15 || rel_fail "no notice that deliveries resume"
rel_wait_record 0 999 60 || rel_fail "not everything delivered exactly once after space returned"
haf_stop
python3 -m json.tool "$REL_STATE_DIR/state.json" >/dev/null || rel_fail "state.json is corrupt at the end"
failures=$(grep -c 'cannot write the state file' "$T/daemon.log")
REL_NOTE="64 KiB tmpfs filled; held deliveries ($failures clear errors), kill -9 and restart while full, resumed when space returned"
rel_verify "$G" 0 999
echo "PASS reliability_diskfull"
