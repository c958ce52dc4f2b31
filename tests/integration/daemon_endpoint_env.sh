#!/usr/bin/env bash
# daemon_endpoint_env.sh (issue 11 §1, §7, §10): every source of the CloudWatch endpoint is held
# to the one URL rule, and every refusal says why without echoing credentials.
# (1) AWS_ENDPOINT_URL_LOGS / AWS_ENDPOINT_URL with a plain-http host that merely starts with
#     "localhost" or "127." (http://localhost.attacker.example/, http://127.0.0.1.nip.io/), with
#     user:password@, or AWS_ENDPOINT_URL_STS off loopback: --check-config exits 1 naming the
#     variable and the reason; a normal start exits 2 at once with the same reason in the log;
#     the password never appears in any output. Before the fix the prefix tests let them through.
# (2) The scheme is case-insensitive everywhere: `endpoint: HTTP://127.0.0.1:PORT` in the file and
#     AWS_ENDPOINT_URL_LOGS=HTTP://LOCALHOST:PORT deliver every entry; `endpoint: HTTPS://...` passes
#     --check-config and the daemon starts with it (before, it exited 1 without a word).
# Loopback only (the refused hosts are never contacted). Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup

front_start
SECRET=hunter2pw9876
haf_config /cloudhsm/env "hsm"
sed -i '/^endpoint:/d' "$T/haf.yaml" # the endpoint comes from the environment below
unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_LOGS AWS_ENDPOINT_URL_STS

refused() { # VAR=VALUE WANT
    local assign=$1 want=$2 rc
    env "$assign" "$HAF_BIN" --check-config -c "$T/haf.yaml" >"$T/check.out" 2>"$T/check.err"
    rc=$?
    [ "$rc" = 1 ] || haf_fail "$assign: --check-config exited $rc (want 1)"
    grep -qF -- "$want" "$T/check.err" || haf_fail "$assign: --check-config: no '$want' in: $(cat "$T/check.err")"
    : >"$T/daemon.log"
    env "$assign" timeout 10 "$HAF_BIN" -f -c "$T/haf.yaml" >"$T/daemon.out" 2>"$T/daemon.log"
    rc=$?
    [ "$rc" = 2 ] || haf_fail "$assign: the daemon exited $rc (want 2)"
    grep -qF -- "$want" "$T/daemon.log" || haf_fail "$assign: daemon log lacks '$want'"
    if grep -qF "$SECRET" "$T/check.out" "$T/check.err" "$T/daemon.log" "$T/daemon.out"; then
        haf_fail "$assign: the password was printed"
    fi
    echo "refused $assign"
}

plain="plain http:// is allowed only for loopback hosts"
refused AWS_ENDPOINT_URL_LOGS=http://localhost.attacker.example/ \
    "endpoint from AWS_ENDPOINT_URL_LOGS (http://localhost.attacker.example/): $plain"
refused AWS_ENDPOINT_URL=http://127.0.0.1.nip.io/ \
    "endpoint from AWS_ENDPOINT_URL (http://127.0.0.1.nip.io/): $plain"
refused AWS_ENDPOINT_URL_LOGS="https://AKIAX:$SECRET@logs.example.com/" \
    "endpoint from AWS_ENDPOINT_URL_LOGS (https://***@logs.example.com/): user information"
refused AWS_ENDPOINT_URL_LOGS="http://u:$SECRET@127.0.0.1:9/" \
    "(http://***@127.0.0.1:9/): user information"
refused AWS_ENDPOINT_URL_LOGS="https://host:70000/" "invalid port in URL (1..65535)"

# AWS_ENDPOINT_URL_STS is checked by --check-config (the daemon checks it when it calls STS).
AWS_ENDPOINT_URL_STS="http://u:$SECRET@sts.attacker.example/" "$HAF_BIN" --check-config \
    -c "$T/haf.yaml" >"$T/check.out" 2>"$T/check.err"
[ $? = 1 ] || haf_fail "AWS_ENDPOINT_URL_STS off loopback passed --check-config"
grep -qF "endpoint from AWS_ENDPOINT_URL_STS (http://***@sts.attacker.example/)" "$T/check.err" ||
    haf_fail "AWS_ENDPOINT_URL_STS: $(cat "$T/check.err")"
grep -qF "$SECRET" "$T/check.out" "$T/check.err" && haf_fail "AWS_ENDPOINT_URL_STS: password printed"

# (2) Upper-case schemes.
G=/cloudhsm/upper
FRONT_HOSTPORT=${FRONT_URL#http://}
haf_config "$G" "hsm"
sed -i "s#^endpoint: .*#endpoint: HTTP://$FRONT_HOSTPORT#" "$T/haf.yaml"
"$HAF_BIN" --check-config -c "$T/haf.yaml" >"$T/check.out" 2>"$T/check.err" ||
    haf_fail "endpoint: HTTP://: --check-config: $(cat "$T/check.err")"
haf_gen "$T/audit/hsm.log" 0 10
: >"$T/daemon.log"
haf_start
out=$(haf_wait_delivered "$G" 0 9 20) || { echo "$out"; haf_fail "endpoint: HTTP:// not delivered"; }
haf_stop
echo "endpoint: HTTP://$FRONT_HOSTPORT delivered"

G2=/cloudhsm/upper-env
rm -rf "$T/state"/* "$T/audit"/*
haf_config "$G2" "hsm"
sed -i '/^endpoint:/d' "$T/haf.yaml"
haf_gen "$T/audit/hsm.log" 0 10
AWS_ENDPOINT_URL_LOGS="HTTP://LOCALHOST:${FRONT_HOSTPORT#*:}" "$HAF_BIN" --check-config \
    -c "$T/haf.yaml" >"$T/check.out" 2>"$T/check.err" || haf_fail "env HTTP://LOCALHOST refused"
grep -q "^# endpoint http://LOCALHOST:${FRONT_HOSTPORT#*:}/ (from AWS_ENDPOINT_URL_LOGS)" \
    "$T/check.out" || haf_fail "--check-config does not show the endpoint it resolved"
: >"$T/daemon.log"
AWS_ENDPOINT_URL_LOGS="HTTP://LOCALHOST:${FRONT_HOSTPORT#*:}" "$HAF_BIN" -f -v -c "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
out=$(haf_wait_delivered "$G2" 0 9 20) || { echo "$out"; haf_fail "env HTTP://LOCALHOST not delivered"; }
haf_stop
echo "AWS_ENDPOINT_URL_LOGS=HTTP://LOCALHOST:... delivered"

# endpoint: HTTPS://: accepted by --check-config and by the daemon (nothing listens there).
DEAD=$(moto_free_port)
rm -rf "$T/state"/* "$T/audit"/*
haf_config /cloudhsm/https "hsm"
sed -i "s#^endpoint: .*#endpoint: HTTPS://127.0.0.1:$DEAD/#" "$T/haf.yaml"
"$HAF_BIN" --check-config -c "$T/haf.yaml" >"$T/check.out" 2>"$T/check.err" ||
    haf_fail "endpoint: HTTPS://: --check-config: $(cat "$T/check.err")"
: >"$T/daemon.log"
haf_start
haf_wait_log "watching [0-9]* files" 10 || haf_fail "endpoint: HTTPS:// did not start"
kill -0 "$HAF_PID" || haf_fail "endpoint: HTTPS://: the daemon exited"
haf_stop
echo "endpoint: HTTPS:// starts"
front_assert_clean
echo "PASS daemon_endpoint_env"
