#!/usr/bin/env bash
# daemon_loopback_no_proxy.sh (issue 11 §2): a loopback CloudWatch endpoint is never reached
# through a proxy. The endpoint is the checking front on http://127.0.0.1:PORT; a hostile
# recording proxy on another loopback port is named by the config's `proxy:` and, in a second run,
# by http_proxy/HTTPS_PROXY in the daemon's environment (with NO_PROXY unset). Every entry must
# arrive exactly once and the proxy must have seen no request at all: before the fix, CloudWatch
# requests went to the proxy in clear text (STS already bypassed it). Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup

PROXY_PID=
proxy_stop() {
    if [ -n "${PROXY_PID:-}" ]; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
        PROXY_PID=
    fi
}
haf_extra_cleanup() {
    front_stop
    proxy_stop
}

python3 "$HAF_SOURCE_DIR/tests/tools/recording_proxy.py" --port-file "$T/proxy.port" \
    --log "$T/proxy.log" --max-seconds 120 &
PROXY_PID=$!
for _ in $(seq 1 100); do
    [ -s "$T/proxy.port" ] && break
    sleep 0.05
done
[ -s "$T/proxy.port" ] || haf_fail "the recording proxy did not start"
PROXY_URL="http://127.0.0.1:$(cat "$T/proxy.port")"
# The proxy works: a request sent through it is recorded (so an empty log below means something).
curl -s -o /dev/null --max-time 5 -x "$PROXY_URL" http://haf-proxy-probe.invalid/ || true
grep -q "haf-proxy-probe.invalid" "$T/proxy.log" || haf_fail "the proxy does not record requests"
: >"$T/proxy.log"

front_start
unset NO_PROXY no_proxy

# 1. proxy: in the config file.
G=/cloudhsm/no-proxy
haf_config "$G" "hsm" "proxy: $PROXY_URL"
haf_gen "$T/audit/hsm.log" 0 20
haf_start
out=$(haf_wait_delivered "$G" 0 19 20) || { echo "$out"; haf_fail "config proxy: not delivered"; }
echo "$out"
haf_stop
[ ! -s "$T/proxy.log" ] || { cat "$T/proxy.log"; haf_fail "requests reached the proxy (config)"; }

# 2. http_proxy / HTTPS_PROXY in the environment, no proxy: in the config.
G2=/cloudhsm/no-proxy-env
rm -rf "$T/state"/* "$T/audit"/*
haf_config "$G2" "hsm"
haf_gen "$T/audit/hsm.log" 0 20
http_proxy=$PROXY_URL HTTP_PROXY=$PROXY_URL https_proxy=$PROXY_URL HTTPS_PROXY=$PROXY_URL \
    ALL_PROXY=$PROXY_URL "$HAF_BIN" -f -v -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
out=$(haf_wait_delivered "$G2" 0 19 20) || { echo "$out"; haf_fail "env proxy: not delivered"; }
echo "$out"
haf_stop
[ ! -s "$T/proxy.log" ] || { cat "$T/proxy.log"; haf_fail "requests reached the proxy (env)"; }
front_assert_clean
echo "PASS daemon_loopback_no_proxy"
