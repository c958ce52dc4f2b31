#!/usr/bin/env bash
# daemon_endpoint_down.sh: the endpoint is down (nothing listens on its port: connection refused)
# with a backlog of 50,000 entries (about 16 MB), then comes up on the same port. While it is down
# the daemon must stay small and idle: it reads only what its batch ring holds (the file on disk is
# the buffer), so VmRSS stays bounded (asserted below 32 MiB in a build without AddressSanitizer,
# which inflates RSS; measured and reported always), and it does not spin (CPU time over 5.5 s of
# the outage below 0.5 s: the retry and idle deadlines must not busy-loop). Once the endpoint is up,
# every entry arrives exactly once. The failure is logged as "cannot reach CloudWatch Logs at URL:
# connection refused: ...". Bounded: about 30 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup

G=/cloudhsm/endpoint-down
N=50000
FRONT_PORT=$(moto_free_port)
export AWS_ACCESS_KEY_ID=AKIDHAFSCENARIO00001 AWS_SECRET_ACCESS_KEY=scenario/secret/key/for/the/front/only00
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
HAF_ENDPOINT="http://127.0.0.1:$FRONT_PORT"
# 50,000 generated entries span about 2.8 h: start them 3 h ago, so that none is more than 2 h
# ahead (those would be reclocked to the time they are read, out of order).
python3 "$HAF_SOURCE_DIR/tests/bench/gen_audit.py" -n "$N" --reboot "$HAF_REBOOT" \
    --start-usecs $(($(date +%s) * 1000000 - 3 * 3600 * 1000000)) -o "$T/audit/hsm.log"
echo "backlog: $(stat -c %s "$T/audit/hsm.log") bytes"
haf_config "$G" "hsm"
haf_start
haf_wait_log "hsm.log: new file" 10 || haf_fail "daemon did not open the file"
sleep 1
cpu0=$(awk '{print $14 + $15}' "/proc/$HAF_PID/stat")
max_rss=0
for _ in $(seq 1 11); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$HAF_PID/status")
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    sleep 0.5
done
cpu=$(($(awk '{print $14 + $15}' "/proc/$HAF_PID/stat") - cpu0))
hz=$(getconf CLK_TCK)
echo "while down: VmRSS max $max_rss KiB, CPU $cpu ticks (of $hz per second) over 5.5 s"
[ "$cpu" -lt $((hz / 2)) ] || haf_fail "the daemon is busy while the endpoint is down ($cpu ticks)"
if [[ "$("$HAF_BIN" --version)" == *AddressSanitizer* ]]; then
    echo "AddressSanitizer build: RSS bound not asserted"
else
    [ "$max_rss" -lt $((32 * 1024)) ] || haf_fail "VmRSS $max_rss KiB while down (bound 32 MiB)"
fi
grep -q "cannot create the log group or stream" "$T/daemon.log" || haf_fail "no failure logged while down"
# Named for what it is, not "retry ... (HTTP 0)" (issue 16).
grep -qE "cannot reach CloudWatch Logs at [^ ]+: connection refused: " "$T/daemon.log" ||
    haf_fail "the refused connection is not named as such"
grep -q "retry .*(HTTP 0)" "$T/daemon.log" && haf_fail "still logs 'retry ... (HTTP 0)'"

front_start
[ "$FRONT_URL" = "$HAF_ENDPOINT" ] || haf_fail "the front did not come up on the daemon's port"
out=$(haf_wait_delivered "$G" 0 $((N - 1)) 40) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$HAF_PID/status")
echo "after delivery: VmRSS $rss KiB"
haf_stop
front_assert_clean
echo "PASS daemon_endpoint_down"
