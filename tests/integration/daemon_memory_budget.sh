#!/usr/bin/env bash
# daemon_memory_budget.sh: the batches of all log streams share one memory budget
# (batch.memory_budget_bytes, default 2 MiB), so memory does not grow with the number of streams
# and the files stay the buffer. 28 files (28 streams, as a 28-HSM cluster) of 3000 entries each
# (~28 MB in all) are followed while the endpoint is down: the daemon's private memory (RssAnon,
# sampled) must stay under 12 MiB; before the budget every stream held two batches of ~1 MB and
# this came to ~70 MB. Then the endpoint comes up and every entry must arrive exactly once.
# Bounded: about 40 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
# A sanitizer build's shadow memory says nothing about ours: skipped there.
# (a here-string, not a pipe: under pipefail, ldd dying of SIGPIPE when grep -q stops early would
# make the test fail to see the sanitizer)
if grep -q 'lib[at]san' <<<"$(ldd "$HAF_BIN" 2>/dev/null)"; then
    echo "SKIP: sanitizer build"
    exit 77
fi
FILES=28
PER_FILE=3000
LIMIT_KB=$((12 * 1024))
haf_setup
for ((i = 0; i < FILES; i++)); do
    haf_gen "$T/audit/hsm$i.log" $((i * PER_FILE)) "$PER_FILE"
done
down_s=10
up_at=$(($(date +%s) + down_s))
front_start --down-until "$up_at"
G=/cloudhsm/memory-budget
HAF_FLUSH_MS=1000 haf_config "$G"
haf_start
peak=0
while [ "$(date +%s)" -lt "$up_at" ]; do
    a=$(awk '$1 == "RssAnon:" {print $2}' "/proc/$HAF_PID/status" 2>/dev/null) ||
        haf_fail "the daemon is gone"
    [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a
    sleep 0.1
done
opened=$(grep -c "new file, reading from byte 0" "$T/daemon.log")
echo "files opened while the endpoint was down: $opened of $FILES; peak private memory: $peak kB"
[ "$opened" -eq "$FILES" ] || haf_fail "only $opened of $FILES files were opened in ${down_s} s"
[ "$peak" -gt 0 ] && [ "$peak" -le "$LIMIT_KB" ] ||
    haf_fail "private memory $peak kB with $FILES streams over the $LIMIT_KB kB bound"
out=$(haf_wait_delivered "$G" 0 $((FILES * PER_FILE - 1)) 60) ||
    { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
haf_stop
front_assert_clean
echo "PASS daemon_memory_budget"
