#!/usr/bin/env bash
# daemon_inode_reuse.sh: a reused inode never inherits an old checkpoint. hsm.log (entries 0..99)
# is shipped, the daemon stopped (state saved with hsm.log's dev, inode, offset and fingerprint),
# hsm.log deleted and a new hsm.log with other, longer content (entries 100..249) created at once,
# which on most file systems gets the same inode number (checked with stat and reported; the
# assertions hold either way). After the restart the new file must be read from byte 0, not from
# the old offset: 0..249 all present exactly once, and with a reused inode the log says so.
# Bounded: about 6 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/inode-reuse
haf_gen "$T/audit/hsm.log" 0 100
old_ino=$(stat -c %i "$T/audit/hsm.log")
old_size=$(stat -c %s "$T/audit/hsm.log")
haf_config "$G" "hsm"
haf_start
haf_wait_exact "$G" 0 99 20 || haf_fail "first run did not ship 0..99"
haf_stop
python3 - "$T/state/state.json" "$old_ino" "$old_size" <<'PY' || haf_fail "state does not hold hsm.log's checkpoint"
import json, sys
st = json.load(open(sys.argv[1]))
files = st["files"]
assert any(int(f["ino"]) == int(sys.argv[2]) and int(f["offset"]) == int(sys.argv[3]) for f in files), files
PY

rm "$T/audit/hsm.log"
haf_gen "$T/audit/hsm.log" 100 150
new_ino=$(stat -c %i "$T/audit/hsm.log")
new_size=$(stat -c %s "$T/audit/hsm.log")
[ "$new_size" -gt "$old_size" ] || haf_fail "the new file must be longer than the old offset"
if [ "$new_ino" = "$old_ino" ]; then
    echo "inode reused: $new_ino ($(stat -f -c %T "$T/audit"))"
else
    echo "inode NOT reused on this file system ($(stat -f -c %T "$T/audit")): old $old_ino new $new_ino"
fi

haf_start
haf_wait_exact "$G" 0 249 20 || haf_fail "after the restart not exactly 0..249"
grep -q "hsm.log: new file, reading from byte 0 " "$T/daemon.log" ||
    haf_fail "the new hsm.log was not read from byte 0"
grep -q "resuming at byte" "$T/daemon.log" && haf_fail "the new file resumed at an old offset"
if [ "$new_ino" = "$old_ino" ]; then
    grep -q "inode $new_ino was reused by a new file" "$T/daemon.log" ||
        haf_fail "the inode reuse was not noticed in the log"
fi
haf_stop
front_assert_clean
echo "PASS daemon_inode_reuse"
