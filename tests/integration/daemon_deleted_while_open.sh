#!/usr/bin/env bash
# daemon_deleted_while_open.sh: a file deleted while the daemon still has unread bytes in it is
# drained through the open descriptor, every entry shipped exactly once, then released. The
# endpoint is down at first (the checking front refuses connections), so the daemon reads only
# what its batch ring holds and stops: the test proves entries were unread at the deletion (the
# daemon's -vv trace of parsed entries), deletes the file (the descriptor stays open), brings
# the endpoint up and waits for all 20000 entries (about 6.6 MB). Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
# Down for 6 s from when it listens (the front refuses every connection, its control endpoint
# included, until then). up_at is taken after front_start returns, so it is never earlier than the
# front's own end of the window.
front_start --down-seconds 6
up_at=$(($(date +%s) + 6))

G=/cloudhsm/deleted-while-open
haf_gen "$T/audit/doomed.log" 0 20000
haf_config "$G"
haf_start -v
haf_wait_log "doomed.log: new file, reading from byte 0" 10 || haf_fail "daemon did not open the file"
sleep 1

fd=
for f in /proc/"$HAF_PID"/fd/*; do
    [ "$(readlink "$f")" = "$T/audit/doomed.log" ] && fd=${f##*/}
done
[ -n "$fd" ] || haf_fail "the daemon does not hold doomed.log open"
# The tail reads with pread (the descriptor's position says nothing): count the entries parsed so
# far from the -vv trace instead.
nread=$(grep -c "doomed.log: entry 263/" "$T/daemon.log")
echo "entries parsed at the deletion: $nread of 20000"
[ "$nread" -gt 0 ] && [ "$nread" -lt 20000 ] || haf_fail "not a partly read file ($nread entries)"
rm "$T/audit/doomed.log"
sleep 0.3
readlink "/proc/$HAF_PID/fd/$fd" | grep -q "(deleted)" || haf_fail "descriptor not kept after unlink"

[ "$(date +%s)" -lt "$up_at" ] || haf_fail "too slow: the endpoint came up before the deletion"
while [ "$(date +%s)" -lt "$up_at" ]; do sleep 0.2; done
out=$(haf_wait_delivered "$G" 0 19999 40) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
haf_wait_log "doomed.log: released" 10 || haf_fail "the deleted file was not released after draining"
[ -e "/proc/$HAF_PID/fd/$fd" ] && readlink "/proc/$HAF_PID/fd/$fd" | grep -q doomed &&
    haf_fail "descriptor of the deleted file still open after release"
haf_stop
front_assert_clean
echo "PASS daemon_deleted_while_open"
