#!/usr/bin/env bash
# daemon_clock_step.sh: every timer runs on CLOCK_MONOTONIC (issue 10 §4). With libfaketime
# (Debian's faketime) the daemon's wall clock is stepped back one hour mid-run (its monotonic
# clock untouched). Entries written after the step still ship within the flush interval (plus the
# one clock-skew round trip the signature needs), nothing is lost or duplicated. Before, flush
# deadlines were wall-clock times: after the step a partly filled batch waited an hour.
# Skipped (77) without libfaketime, and in the sanitizer build (ASan must be the first preload).
# Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
FAKETIME_LIB=
for d in /usr/lib/x86_64-linux-gnu/faketime /usr/lib/aarch64-linux-gnu/faketime /usr/lib/faketime; do
    [ -e "$d/libfaketime.so.1" ] && FAKETIME_LIB=$d/libfaketime.so.1 && break
done
[ -n "$FAKETIME_LIB" ] || { echo "SKIP: libfaketime not installed (apt-get install faketime)"; exit 77; }
"$HAF_BIN" --version 2>&1 | grep -qi sanitizer &&
    { echo "SKIP: sanitizer build (libfaketime cannot be preloaded before ASan)"; exit 77; }
haf_setup
front_start
export HAF_REBOOT=3

G=/cloudhsm/clock-step
haf_config "$G" "s"
echo "+0" >"$T/faketime"
export LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1
export FAKETIME_DONT_FAKE_MONOTONIC=1
haf_start
unset LD_PRELOAD
haf_gen "$T/audit/a.log" 0 20
haf_wait_exact "$G" 0 19 15 >/dev/null || haf_fail "entries before the step not delivered"
echo "-1h" >"$T/faketime"
sleep 1
t0=$SECONDS
haf_gen "$T/audit/a.log" 20 20
out=$(haf_wait_exact "$G" 0 39 10) || { echo "$out"; haf_fail "entries after the wall clock stepped back 1 h did not ship within 10 s"; }
echo "after the step: delivered within $((SECONDS - t0)) s; $out"
sleep 1
haf_gen "$T/audit/a.log" 40 5
haf_wait_exact "$G" 0 44 10 >/dev/null || haf_fail "later entries not delivered"
kill -0 "$HAF_PID" || haf_fail "the daemon died"
haf_stop
grep -q "clock skew" "$T/daemon.log" && echo "signature clock corrected: $(grep -c 'clock skew' "$T/daemon.log") times"
front_assert_clean
echo "PASS daemon_clock_step"
