#!/usr/bin/env bash
# daemon_sdnotify.sh: the systemd notify protocol as a Type=notify-reload service sees it. The
# daemon runs with NOTIFY_SOCKET pointing at a datagram socket this test listens on and
# WATCHDOG_USEC=1000000 (and WATCHDOG_PID set to its own pid, as systemd does). Asserted, in
# order: READY=1 first; STATUS=... lines saying what was shipped; WATCHDOG=1 at least every 0.5 s
# (half the interval) over 2 s; on SIGHUP RELOADING=1 with MONOTONIC_USEC, then READY=1 once the
# new configuration runs; on SIGTERM STOPPING=1, then exit 0. A datagram from the daemon arrives
# with its pid (SCM_CREDENTIALS), as systemd checks. Bounded: about 6 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

LISTENER_PID=
haf_extra_cleanup() {
    [ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null && wait "$LISTENER_PID" 2>/dev/null
    front_stop
}
python3 "$HAF_SOURCE_DIR/tests/tools/notify_listener.py" "$T/notify.sock" "$T/notify.log" 60 &
LISTENER_PID=$!
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
[ -S "$T/notify.sock" ] || haf_fail "listener did not start"

G=/cloudhsm/sdnotify
haf_gen "$T/audit/hsm.log" 0 20
haf_config "$G" "hsm"
# WATCHDOG_PID must name the daemon itself: start it through exec in a subshell that knows its pid.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 \
    bash -c 'export WATCHDOG_PID=$$; exec "$0" -f -v -c "$1"' "$HAF_BIN" "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
haf_wait_delivered "$G" 0 19 15 >/dev/null || haf_fail "entries not shipped"
sleep 2
kill -HUP "$HAF_PID"
haf_wait_log "reloaded configuration" 10 || haf_fail "no reload"
sleep 0.5
daemon_pid=$HAF_PID
haf_stop
sleep 0.3

python3 - "$T/notify.log" "$daemon_pid" <<'PY' || haf_fail "notify protocol not as expected"
import sys
rows = [l.split(" ", 2) for l in open(sys.argv[1]).read().splitlines()]
rows = [(float(t), int(p), m) for t, p, m in rows]
msgs = [m for _, _, m in rows]
print("notifications:", len(rows), "kinds:", sorted({m.split("=")[0] for m in msgs}))
assert msgs[0] == "READY=1", msgs[:3]
status = [m for m in msgs if m.startswith("STATUS=")]
assert status and any("shipped" in m for m in status), status
print("last status before the stop:", status[-1])
wd = [t for t, _, m in rows if m == "WATCHDOG=1"]
first_hup = next(i for i, m in enumerate(msgs) if m == "RELOADING=1")
wd_before = [t for t, _, m in rows[:first_hup] if m == "WATCHDOG=1"]
assert len(wd_before) >= 4, "watchdog pings before the reload: %d" % len(wd_before)
gaps = [b - a for a, b in zip(wd_before, wd_before[1:])]
assert max(gaps) < 0.8, "watchdog gap %.3f s (interval 1 s)" % max(gaps)
assert msgs[first_hup + 1].startswith("MONOTONIC_USEC="), msgs[first_hup:first_hup + 3]
assert "READY=1" in msgs[first_hup + 2:], "no READY=1 after RELOADING=1"
ready_after = first_hup + 2 + msgs[first_hup + 2:].index("READY=1")
stop = msgs.index("STOPPING=1")
assert stop > ready_after, (stop, ready_after)
assert msgs.count("RELOADING=1") == 1 and msgs.count("STOPPING=1") == 1
pids = {p for _, p, _ in rows}
assert pids == {int(sys.argv[2])}, (pids, sys.argv[2])
print("pid in credentials:", pids.pop(), "; watchdog max gap %.3f s" % max(gaps))
PY
front_assert_clean
echo "PASS daemon_sdnotify"
