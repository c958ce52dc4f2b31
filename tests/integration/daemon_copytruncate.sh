#!/usr/bin/env bash
# daemon_copytruncate.sh: rotation by copytruncate under load. A writer appends 3000 entries at
# about 1000/s to audit.log and every 400 entries copies it to audit.log.1 and truncates it in
# place (logrotate's copytruncate), while the daemon runs. Checks: every entry arrives exactly
# once, no sequence_gap marker, the log reports the truncations, requests keep CloudWatch's rules.
#
# The trade-off this scenario pins down: copytruncate is lossy for ANY tailer that follows only
# audit.log (glob *.log): entries appended between the tailer's last read and the truncation exist
# only in the copy. So the source here uses the glob audit.log*, which also matches the copies, and
# a fixed stream name (not {file}) so the copies feed the same stream and its sequence tracking.
# The daemon reads a copy as a fresh file (no checkpoint holds its inode) and suppresses every
# entry it already read in this process (seqtrack_seen) or that is at or before the stream's
# acknowledged sequence when it started: what only the copy holds is shipped, nothing twice. The
# costs: each copy is read in full once (CPU and disk reads, not requests); a copy made before the
# daemon started is suppressed only up to the stream's acknowledged sequence; and when the refilled
# audit.log is read before the copy's bytes (the copy is still being written), the entries only the
# copy holds arrive late, after newer ones, and the stream gets a sequence_gap marker for them
# although nothing is missing in the end. So markers are reported here, not forbidden; loss and
# duplicates are. No entry may be shipped flagged (cut in two by the truncation).
# The writer rotates as logrotate does: older copies shift up and each copy is a new file. A copy
# written over an existing audit.log.1 in place (not what logrotate does) can lose what only it held
# when it is overwritten again before the daemon reads it (seen under ASan with a copy every 0.4 s).
# Bounded: about 12 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/copytruncate
haf_config "$G" "hsm-stream"
sed -i "s#^  - path: .*#  - path: $T/audit/audit.log*#" "$T/haf.yaml"
grep -q "path: $T/audit/audit.log\*" "$T/haf.yaml" || haf_fail "config not rewritten"
haf_start
haf_wait_log "watching" 10 || haf_fail "daemon did not start"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/audit.log" --count 3000 \
    --rate 1000 --chunk 10 --rotate-every 400 --rotate-mode copytruncate >"$T/writer.out" ||
    haf_fail "writer failed"
[ "$(cat "$T/writer.out")" = 3000 ] || haf_fail "writer wrote $(cat "$T/writer.out") entries"

out=$(haf_wait_delivered "$G" 0 2999 30) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
grep -q "flagged" "$T/daemon.log" && haf_fail "an entry was flagged (cut by the truncation?)"
echo "sequence_gap markers for entries that arrived late: $(grep -c "sequence gap" "$T/daemon.log")"
n=$(grep -c "audit.log: truncated or replaced in place" "$T/daemon.log")
[ "$n" -ge 1 ] || haf_fail "no truncation of audit.log noticed"
echo "truncations of audit.log noticed: $n of 7"
haf_stop
front_assert_clean
echo "PASS daemon_copytruncate"
