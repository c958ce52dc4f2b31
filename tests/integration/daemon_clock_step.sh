#!/usr/bin/env bash
# daemon_clock_step.sh: every timer runs on CLOCK_MONOTONIC (issue 10 §4). With libfaketime
# (Debian's faketime) the daemon's wall clock is stepped back one hour mid-run (its monotonic
# clock untouched), the daemon running as under systemd with a 1 s watchdog. Entries written after
# the step still ship within the flush interval (plus the one clock-skew round trip the signature
# needs), nothing is lost or duplicated, and the watchdog pings and STATUS updates go on across
# the step (before, their deadlines were wall-clock times an hour ahead after the step: no ping
# for an hour, and systemd would kill the service).
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
LISTENER_PID=
haf_extra_cleanup() {
    [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null && wait "$LISTENER_PID" 2>/dev/null
    front_stop
}
python3 "$HAF_SOURCE_DIR/tests/tools/notify_listener.py" "$T/notify.sock" "$T/notify.log" --max-seconds 60 &
LISTENER_PID=$!
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
[ -S "$T/notify.sock" ] || haf_fail "listener did not start"
echo "+0" >"$T/faketime"
export FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
# WATCHDOG_PID must name the daemon itself: started through exec in a subshell that knows its pid.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 LD_PRELOAD=$FAKETIME_LIB \
    bash -c 'export WATCHDOG_PID=$$; exec "$0" -f -v -c "$1"' "$HAF_BIN" "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
haf_gen "$T/audit/a.log" 0 20
haf_wait_exact "$G" 0 19 15 >/dev/null || haf_fail "entries before the step not delivered"
step_at=$(date +%s.%N)
echo "-1h" >"$T/faketime"
sleep 3
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
python3 - "$T/notify.log" "$step_at" <<'PY' || haf_fail "watchdog or status stopped across the step"
import sys
rows = [l.split(" ", 2) for l in open(sys.argv[1]).read().splitlines()]
step = float(sys.argv[2])
wd = [float(t) for t, _, m in rows if m == "WATCHDOG=1"]
after = [t for t in wd if t > step]
assert len(after) >= 6, "watchdog pings after the step: %d" % len(after)
gaps = [b - a for a, b in zip(wd, wd[1:])]
assert max(gaps) < 0.8, "watchdog gap %.3f s (interval 1 s)" % max(gaps)
st = [float(t) for t, _, m in rows if m.startswith("STATUS=") and float(t) > step + 1]
assert st, "no STATUS= after the step"
print("watchdog pings after the step: %d, largest gap %.3f s; status updates after: %d"
      % (len(after), max(gaps), len(st)))
PY
front_assert_clean
echo "PASS daemon_clock_step"
