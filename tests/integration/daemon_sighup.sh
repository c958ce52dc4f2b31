#!/usr/bin/env bash
# daemon_sighup.sh: configuration reload. (1) With the daemon shipping to group A, a writer appends
# 800 entries at about 400/s and, in the middle, the config is changed to group B (and another
# flush interval) and SIGHUP sent: the log says "reloaded configuration", the entries written after
# the reload go to B, and over A and B together every entry arrived exactly once (what was read
# but not yet sent at the switch is read again from the checkpoints and sent once, to B). (2) A
# broken config (a YAML syntax error) and SIGHUP: the log says the reload was refused and why
# (file:line:col), the daemon keeps running with B and ships what is appended next, exactly once.
# Bounded: about 12 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

A=/cloudhsm/sighup-a
B=/cloudhsm/sighup-b
haf_gen "$T/audit/hsm.log" 0 100
haf_config "$A" "hsm"
haf_start
haf_wait_exact "$A" 0 99 20 || haf_fail "first 100 entries not in group A"

python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm.log" --first 100 \
    --count 800 --rate 400 --chunk 8 >"$T/writer.out" &
writer=$!
sleep 1
HAF_FLUSH_MS=300 haf_config "$B" "hsm"
grep -q "flush_interval_ms: 300" "$T/haf.yaml" || haf_fail "config B not written"
kill -HUP "$HAF_PID"
haf_wait_log "reloaded configuration" 10 || haf_fail "no 'reloaded configuration' after SIGHUP"
wait "$writer" || haf_fail "writer failed"
kill -0 "$HAF_PID" || haf_fail "the daemon died on SIGHUP"
# The last entry written (899) must be in B; then A and B together hold 0..899 exactly once.
for _ in $(seq 1 60); do
    haf_check "$B" 899 899 --quiet >/dev/null 2>&1 && break
    sleep 0.3
done
haf_check "$B" 899 899 --quiet >/dev/null || haf_fail "entries written after the reload are not in B"
sleep 1
haf_check_union 0 899 "$A" "$B" || haf_fail "A and B together do not hold 0..899 exactly once"
nb=$(haf_check "$B" 0 899 --quiet | sed -n 's/.*delivered \([0-9]*\).*/\1/p')
[ "$nb" -gt 0 ] && [ "$nb" -lt 800 ] || haf_fail "the switch was not mid-stream ($nb entries in B)"
echo "entries in B after the reload: $nb"

# A broken config is refused and the running one kept.
printf 'region: us-east-1\nstate_dir: [unclosed\n' >"$T/haf.yaml"
kill -HUP "$HAF_PID"
haf_wait_log "is invalid; keeping the running one" 10 || haf_fail "broken config not refused"
grep -Eq "haf.yaml:[0-9]+:[0-9]+" "$T/daemon.log" || haf_fail "the refusal does not say where (file:line:col)"
haf_gen "$T/audit/hsm.log" 900 100
for _ in $(seq 1 60); do
    haf_check "$B" 999 999 --quiet >/dev/null 2>&1 && break
    sleep 0.3
done
sleep 0.5
haf_check_union 0 999 "$A" "$B" || haf_fail "after the refused reload not 0..999 exactly once"
[ "$(grep -c "reloaded configuration" "$T/daemon.log")" = 1 ] || haf_fail "the broken config was loaded"
haf_stop
front_assert_clean
echo "PASS daemon_sighup"
