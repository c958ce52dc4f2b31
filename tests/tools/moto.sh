# moto.sh: a sourceable bash library that runs a local moto_server with IAM authentication ON, for
# tests that talk to a real (emulated) CloudWatch Logs on 127.0.0.1.
#
#   source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
#   moto_start || exit 77          # 77 = skip when moto is not installed
#   ... $MOTO_URL, $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY (may use logs:*Log* we need),
#   ... $HAF_DENIED_KEY_ID/$HAF_DENIED_SECRET (same minus logs:PutLogEvents), $AWS_REGION
#   ... $HAF_READER_KEY_ID/$HAF_READER_SECRET (read only: Filter/GetLogEvents, Describe*)
#   moto_get_events GROUP STREAM   # messages, one per line, oldest first (AWS CLI, paginated)
#   moto_stop                      # also run by the EXIT trap moto_start installs
#
# How auth gets switched on: moto enforces IAM (SigV4 signature, then the caller's policies) once
# it has served INITIAL_NO_AUTH_ACTION_COUNT actions. We start it with that count unset (no auth),
# run tests/tools/moto_setup.py to create the users, keys and policies, then set the count to 0
# through moto's own /moto-api/reset-auth (which is INITIAL_NO_AUTH_ACTION_COUNT set at run time
# and resets the action counter), so auth holds from the very next request whatever number of
# calls the setup made. moto_start then proves it: an unsigned request and a request signed with
# a wrong secret must both be refused, and a correctly signed one accepted.
#
# Limits of the emulation: moto checks signatures and policies but not X-Amz-Date skew, and does
# not return rejectedLogEventsInfo. Everything here binds 127.0.0.1 only and is bounded in time.
#
# Set MOTO_NO_TRAP=1 before moto_start to manage cleanup yourself (then call moto_stop).

MOTO_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A TCP port that was free a moment ago on 127.0.0.1.
moto_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# moto_aws ARGS...: the AWS CLI against moto with the current AWS_* credentials.
moto_aws() {
    aws --endpoint-url "$MOTO_URL" --region "$AWS_REGION" "$@"
}

# Safe under `set -e` and in EXIT traps: never fails.
moto_stop() {
    if [ -n "${MOTO_PID:-}" ]; then
        kill "$MOTO_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=
    fi
    if [ -n "${MOTO_DIR:-}" ]; then
        rm -rf "$MOTO_DIR" || true
        MOTO_DIR=
    fi
    return 0
}

# moto_start [REGION]: start, set up, enforce auth, verify. Returns 77 when moto is missing.
moto_start() {
    local region=${1:-us-east-1} port tries setup code
    command -v moto_server >/dev/null || { echo "moto.sh: moto_server not installed" >&2; return 77; }
    command -v aws >/dev/null || { echo "moto.sh: aws CLI not installed" >&2; return 77; }
    MOTO_DIR=$(mktemp -d)
    [ "${MOTO_NO_TRAP:-0}" = 1 ] || trap moto_stop EXIT
    # Nothing of the caller's AWS setup may leak in: no shared files, no IMDS, no proxy for us.
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
    export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
    for tries in 1 2 3; do
        port=$(moto_free_port)
        env -u INITIAL_NO_AUTH_ACTION_COUNT moto_server -H 127.0.0.1 -p "$port" \
            >"$MOTO_DIR/moto.log" 2>&1 &
        MOTO_PID=$!
        export MOTO_URL="http://127.0.0.1:$port"
        for _ in $(seq 1 150); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$MOTO_URL/moto-api/" || true)
            [ "$code" = 200 ] && break
            sleep 0.1
        done
        [ "${code:-}" = 200 ] && break
        echo "moto.sh: moto_server did not answer on port $port (try $tries)" >&2
        tail -n 5 "$MOTO_DIR/moto.log" >&2
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
        MOTO_PID=
    done
    [ -n "${MOTO_PID:-}" ] || return 1
    export MOTO_PID MOTO_DIR

    setup=$(timeout 60 python3 "$MOTO_TOOLS_DIR/moto_setup.py" "$MOTO_URL" "$region") || {
        echo "moto.sh: moto_setup.py failed" >&2; return 1; }
    eval "$setup"

    code=$(curl -s -o "$MOTO_DIR/reset.json" -w '%{http_code}' --max-time 5 -X POST \
        -H 'Content-Type: text/plain' \
        --data 0 "$MOTO_URL/moto-api/reset-auth")
    [ "$code" = 200 ] || { echo "moto.sh: reset-auth answered $code" >&2; return 1; }
    moto_verify_auth || return 1
}

# Proves auth is enforced: unsigned refused, wrong secret refused, right key accepted.
moto_verify_auth() {
    local code
    code=$(curl -s -o "$MOTO_DIR/unsigned.out" -w '%{http_code}' --max-time 5 -X POST \
        -H 'Content-Type: application/x-amz-json-1.1' \
        -H 'X-Amz-Target: Logs_20140328.CreateLogGroup' \
        --data '{"logGroupName":"moto-auth-probe-unsigned"}' "$MOTO_URL/")
    if [ "$code" = 200 ]; then
        echo "moto.sh: an unsigned request was accepted: auth is not enforced" >&2
        return 1
    fi
    if AWS_SECRET_ACCESS_KEY=wrong-secret-wrong-secret moto_aws logs create-log-group \
            --log-group-name moto-auth-probe-wrong >"$MOTO_DIR/wrong.out" 2>&1; then
        echo "moto.sh: a wrongly signed request was accepted: auth is not enforced" >&2
        return 1
    fi
    if ! grep -q 'SignatureDoesNotMatch' "$MOTO_DIR/wrong.out"; then
        echo "moto.sh: wrong secret not refused as SignatureDoesNotMatch:" >&2
        cat "$MOTO_DIR/wrong.out" >&2
        return 1
    fi
    if ! moto_aws logs describe-log-streams --log-group-name moto-auth-probe-none \
            >"$MOTO_DIR/right.out" 2>&1 &&
        ! grep -q 'ResourceNotFoundException' "$MOTO_DIR/right.out"; then
        echo "moto.sh: a correctly signed request was refused:" >&2
        cat "$MOTO_DIR/right.out" >&2
        return 1
    fi
    return 0
}

# moto_get_events GROUP STREAM: every message of the stream, oldest first, one per line, read with
# the AWS CLI from the head following nextForwardToken until it repeats.
# MOTO_EVENTS_FORMAT=json prints each event as {"timestamp":..,"message":..} instead.
moto_get_events() {
    local group=$1 stream=$2 token= next page filter='.events[].message'
    [ "${MOTO_EVENTS_FORMAT:-}" = json ] && filter='.events[] | {timestamp, message} | tojson'
    for _ in $(seq 1 10000); do
        if [ -n "$token" ]; then
            page=$(moto_aws logs get-log-events --log-group-name "$group" --log-stream-name "$stream" \
                --start-from-head --next-token "$token" --output json) || return 1
        else
            page=$(moto_aws logs get-log-events --log-group-name "$group" --log-stream-name "$stream" \
                --start-from-head --output json) || return 1
        fi
        printf '%s' "$page" | jq -r "$filter" || return 1
        next=$(printf '%s' "$page" | jq -r '.nextForwardToken // empty')
        [ -n "$next" ] && [ "$next" != "$token" ] || return 0
        token=$next
    done
}
