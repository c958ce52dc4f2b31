#!/usr/bin/env bash
# digest_kms_hang.sh: a KMS endpoint that accepts connections and never answers must not hold up
# delivery. kms:Sign is a blocking call on the event loop (digest_emit.c), so each attempt is
# bounded (KMS_SIGN_TIMEOUT_MS, 5 s, not the 30 s of other requests), one failed attempt defers
# every other chain's seal of that loop turn, and failed attempts back off. Two streams (two
# chains, digests every 2 s) against the checking front; entries are appended to a.log once a
# second for 20 s. Every entry must arrive, exactly once, within 15 s of the last write (before:
# the loop was held 30 s per chain and attempt, and most entries waited a minute); the log names
# the timeout; a clean stop (whose stop records cannot be signed either) takes under 20 s.
# Bounded: about 45 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

# The black hole: accepts, reads nothing, answers nothing; stopped by PID at exit.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
s.settimeout(1)
end = time.time() + 120
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
' >"$T/hang.port" &
HANG_PID=$!
haf_extra_cleanup() { kill "$HANG_PID" 2>/dev/null; wait "$HANG_PID" 2>/dev/null; front_stop; }
for _ in $(seq 1 50); do [ -s "$T/hang.port" ] && break; sleep 0.1; done
[ -s "$T/hang.port" ] || haf_fail "the black-hole server did not start"
export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$(cat "$T/hang.port")"

G=/hsm/kms-hang
haf_config "$G" "{file}" "digest:
  enabled: true
  interval_s: 2
  kms_key_id: alias/hsm-audit-digests"
HAF_REBOOT=7 haf_gen "$T/audit/b.log" 0 1 # another HSM: not one of the pairs checked
haf_gen "$T/audit/a.log" 0 1
haf_start
for i in $(seq 1 20); do
    haf_gen "$T/audit/a.log" "$i" 1
    sleep 1
done
out=$(haf_wait_delivered "$G" 0 20 15) || haf_fail "a.log 0..20 not delivered within 15 s of the last write: $out"
echo "delivered within 15 s of the last write: $out"
haf_wait_log "cannot sign record 1: .*timed out after 5[0-9][0-9][0-9] milliseconds" 10 ||
    haf_fail "the log does not name the 5 s kms:Sign timeout"
t0=$SECONDS
haf_stop
[ $((SECONDS - t0)) -lt 20 ] || haf_fail "the stop took $((SECONDS - t0)) s"
echo "stopped in $((SECONDS - t0)) s"
echo "PASS digest_kms_hang"
