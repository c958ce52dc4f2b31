#!/usr/bin/env bash
# daemon_creds_fifo.sh (issue 11 §5): a FIFO at a credentials path (AWS_SHARED_CREDENTIALS_FILE,
# AWS_CONFIG_FILE, the web identity token file, the container authorization token file) must not
# block the daemon. Before the fix it hung in open() for ever, and SIGTERM (waiting in the
# signalfd) could not stop it. For each path: the daemon starts, logs within 10 s that the path is
# "a FIFO, not a regular file", and stops on SIGTERM with exit 0; --check-config exits at once.
# No writer ever opens the FIFO. Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup

front_start
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
mkfifo "$T/fifo"
haf_config /cloudhsm/fifo "hsm"

run_case() {
    local name=$1
    shift
    : >"$T/daemon.log"
    (export "$@"; exec "$HAF_BIN" -f -v -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log") &
    HAF_PID=$!
    haf_wait_log "a FIFO, not a regular file" 10 ||
        haf_fail "$name: the daemon did not refuse the FIFO within 10 s (blocked?)"
    grep -q -- "$T/fifo" "$T/daemon.log" || haf_fail "$name: the message does not name the path"
    haf_stop
    echo "$name: refused at once, stopped on SIGTERM"
}

export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
run_case AWS_SHARED_CREDENTIALS_FILE AWS_SHARED_CREDENTIALS_FILE="$T/fifo"
run_case AWS_CONFIG_FILE AWS_CONFIG_FILE="$T/fifo"
run_case AWS_WEB_IDENTITY_TOKEN_FILE AWS_WEB_IDENTITY_TOKEN_FILE="$T/fifo" \
    AWS_ROLE_ARN=arn:aws:iam::123456789012:role/haf
run_case AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/creds \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/fifo"

start=$SECONDS
AWS_SHARED_CREDENTIALS_FILE="$T/fifo" timeout 10 "$HAF_BIN" --check-config -c "$T/haf.yaml" \
    >/dev/null 2>"$T/check.err" || haf_fail "--check-config failed: $(cat "$T/check.err")"
[ $((SECONDS - start)) -lt 5 ] || haf_fail "--check-config was slow"
echo "PASS daemon_creds_fifo"
