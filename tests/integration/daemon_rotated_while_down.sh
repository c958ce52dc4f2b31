#!/usr/bin/env bash
# daemon_rotated_while_down.sh: files rotated out of the glob while the service is down (issue 10
# §1), against the checking front.
# 1. Ship a.log (glob *.log); stop; the writer appends 300 entries; logrotate renames a.log to
#    a.log.1 (out of the glob) and a new a.log starts; start again. The 300 entries appended before
#    the rename arrive (before: never, only a sequence_gap marker), in the same stream, before the
#    new file's, with no sequence_gap marker and nothing twice; a.log.1 is released at its end.
# 2. The same, but the rotated file is deleted before the start: a file_lost marker naming the
#    file, its inode, the offset acknowledged and the last acknowledged pair arrives in the stream,
#    the daemon logs it at error, --once exits non-zero, and a second --once does not repeat it.
# Bounded: about 25 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
export HAF_REBOOT=5

G=/cloudhsm/rotated-while-down
haf_config "$G" "{file}"
haf_gen "$T/audit/a.log" 0 100
haf_start
haf_wait_exact "$G" 0 99 20 >/dev/null || haf_fail "1: first 100 entries not delivered"
haf_stop
haf_gen "$T/audit/a.log" 100 300
mv "$T/audit/a.log" "$T/audit/a.log.1"
haf_gen "$T/audit/a.log" 400 50
haf_start
out=$(haf_wait_exact "$G" 0 449 20) || { echo "$out"; haf_fail "1: entries lost or duplicated"; }
echo "1: $out"
haf_wait_log "a.log: rotated away while we were not running; found as $T/audit/a.log.1" 5 ||
    haf_fail "1: the rotated file was not found again"
haf_wait_log "a.log.1: released\|a.log: released" 15 || haf_fail "1: the rotated file was not released"
haf_stop
python3 "$HAF_SOURCE_DIR/tests/tools/record_order.py" --record "$T/record.jsonl" --group "$G" \
    --streams a.log --entries 450 || haf_fail "1: order, stream or extra events wrong"

# 2. The rotated file is deleted while the service is down.
G2=/cloudhsm/rotated-while-down-lost
rm -f "$T/audit"/*.log* "$T/state"/*
haf_config "$G2" "{file}"
haf_gen "$T/audit/b.log" 0 20
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" = 0 ] || haf_fail "2: first --once exited $rc"
ino=$(stat -c %i "$T/audit/b.log")
off=$(stat -c %s "$T/audit/b.log")
haf_gen "$T/audit/b.log" 20 30
mv "$T/audit/b.log" "$T/audit/b.log.1"
haf_gen "$T/audit/b.log" 50 10
rm "$T/audit/b.log.1"
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" != 0 ] || haf_fail "2: --once exited 0 although a file was lost"
grep -q "error.*b.log: file lost" "$T/daemon.log" || haf_fail "2: the loss was not logged at error"
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" = 0 ] || haf_fail "2: the next --once exited $rc (the loss was reported already)"
python3 - "$T/record.jsonl" "$G2" "$T/audit/b.log" "$ino" "$off" <<'PY' || haf_fail "2: no exact file_lost marker"
import json, sys
g, path, ino, off = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lost = [json.loads(json.loads(l)["message"]) for l in open(sys.argv[1])
        if json.loads(l)["group"] == g and '"file_lost"' in json.loads(l)["message"]]
assert len(lost) == 1, lost
m = lost[0]
assert m["file"] == path and m["inode"] == ino and m["offset_acknowledged"] == off, m
assert m["last_acknowledged"] == {"reboot_counter": 5, "sequence_no": 19}, m
print("2: file_lost marker:", m)
PY
[ $? -eq 0 ] || exit 1
haf_wait_delivered "$G2" 50 59 10 >/dev/null || haf_fail "2: the new file's entries not delivered"
front_assert_clean
echo "PASS daemon_rotated_while_down"
