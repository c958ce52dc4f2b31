#!/usr/bin/env bash
# daemon_memory_idle.sh: a daemon that shipped a backlog and went quiet gives its memory back. One
# file of 20000 entries (~6.6 MB, one stream: two batches of ~1 MB under the default 2 MiB
# budget) is shipped; once every entry arrived exactly once and the daemon had 3 s of nothing to
# do, its private memory (RssAnon) must be at least 1 MiB under the peak seen while shipping and
# under 3 MiB: the empty batches' blocks and the heap's free pages went back (footprint_trim,
# stream_release_idle). Before, the stream kept its whole share, ~2 MiB, for as long as it was
# idle. Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
# A sanitizer build's allocator keeps freed memory in quarantine: skipped there.
if grep -q 'lib[at]san' <<<"$(ldd "$HAF_BIN" 2>/dev/null)"; then
    echo "SKIP: sanitizer build"
    exit 77
fi
N=20000
LIMIT_KB=$((3 * 1024))
haf_setup
haf_gen "$T/audit/hsm.log" 0 "$N"
front_start
G=/cloudhsm/memory-idle
HAF_FLUSH_MS=1000 haf_config "$G"
haf_start
# The peak, sampled every 50 ms by a background loop (stopped by its PID) while we wait.
(
    peak=0
    while a=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$HAF_PID/status" 2>/dev/null) && [ -n "$a" ]; do
        [ "$a" -gt "$peak" ] && peak=$a && echo "$peak" >"$T/peak"
        sleep 0.05
    done
) &
sampler=$!
out=$(haf_wait_delivered "$G" 0 $((N - 1)) 60)
rc=$?
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
[ "$rc" -eq 0 ] || { echo "$out"; haf_fail "not every entry exactly once"; }
peak=$(cat "$T/peak" 2>/dev/null || echo 0)
sleep 3
idle=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$HAF_PID/status") || haf_fail "the daemon is gone"
echo "private memory: peak while shipping $peak kB, idle after it $idle kB"
[ "$idle" -le "$LIMIT_KB" ] || haf_fail "idle private memory $idle kB over $LIMIT_KB kB"
[ $((peak - idle)) -ge 1024 ] || haf_fail "idle $idle kB is not 1 MiB under the peak $peak kB"
haf_stop
front_assert_clean
echo "PASS daemon_memory_idle"
