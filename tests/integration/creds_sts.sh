#!/usr/bin/env bash
# creds_sts.sh: the STS providers of src/creds.c against a real moto_server on 127.0.0.1.
#
# Checks: AssumeRole (SigV4-signed with environment base credentials, ExternalId, session name,
# endpoint from the config or AWS_ENDPOINT_URL_STS) and AssumeRoleWithWebIdentity (unsigned, token
# file re-read at refresh, endpoint from AWS_ENDPOINT_URL) while moto runs without IAM auth; then,
# with IAM auth switched on (moto's /moto-api/reset-auth), AssumeRole again, so moto verifies our
# signature and the user's sts:AssumeRole policy, and a wrong secret is refused (HTTP 403) with a
# `why` that names the access key id but never the secret. The checks themselves are cmocka tests
# in tests/unit/test_creds.c that run only when HAF_CREDS_MOTO_URL is set (this script).
set -u
BIN="${HAF_BUILD_DIR:?}/tests/test_creds"
command -v moto_server >/dev/null || { echo "moto_server not installed: skip"; exit 77; }
command -v aws >/dev/null || { echo "aws CLI not installed: skip"; exit 77; }
[ -x "$BIN" ] || { echo "missing $BIN"; exit 1; }

WORK=$(mktemp -d)
MOTO_PID=
cleanup() {
    if [ -n "$MOTO_PID" ]; then
        kill "$MOTO_PID" 2>/dev/null
        wait "$MOTO_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Nothing of the machine's AWS setup may leak in.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u INITIAL_NO_AUTH_ACTION_COUNT timeout 300 moto_server -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
URL="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/moto-api/" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "${code:-}" = 200 ] || { echo "moto_server did not start"; cat "$WORK/moto.log"; exit 1; }

# IAM set-up while auth is off: a role anyone may assume, a user allowed sts:AssumeRole.
setup() {
    AWS_ACCESS_KEY_ID=AKIASETUP0000000000 AWS_SECRET_ACCESS_KEY=setup aws --endpoint-url "$URL" \
        --region us-east-1 "$@"
}
setup iam create-role --role-name haf-target --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' \
    >/dev/null || exit 1
setup iam create-user --user-name haf-base >/dev/null || exit 1
setup iam put-user-policy --user-name haf-base --policy-name assume --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}' \
    >/dev/null || exit 1
read -r KEY SECRET < <(setup iam create-access-key --user-name haf-base \
    --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text) || exit 1
ROLE=$(setup iam get-role --role-name haf-target --query Role.Arn --output text) || exit 1
[ -n "$KEY" ] && [ -n "$SECRET" ] && [ -n "$ROLE" ] || { echo "IAM set-up failed"; exit 1; }

run_phase() {
    local phase=$1 out="$WORK/$1.out"
    HAF_CREDS_MOTO_URL="$URL" HAF_CREDS_MOTO_KEY="$KEY" HAF_CREDS_MOTO_SECRET="$SECRET" \
        HAF_CREDS_MOTO_ROLE="$ROLE" HAF_CREDS_MOTO_PHASE="$phase" timeout 120 "$BIN" >"$out" 2>&1
    local rc=$?
    cat "$out"
    [ $rc = 0 ] || { echo "phase $phase: test_creds failed ($rc)"; return 1; }
    grep -q '^\[       OK \] test_creds_get_assume_role_via_moto' "$out" ||
        { echo "phase $phase: assume-role test did not run"; return 1; }
    if [ "$phase" = noauth ]; then
        grep -q '^\[       OK \] test_creds_get_web_identity_via_moto' "$out" ||
            { echo "phase noauth: web-identity test did not run"; return 1; }
    fi
}

run_phase noauth || exit 1

code=$(curl -s -o "$WORK/reset.json" -w '%{http_code}' --max-time 5 -X POST \
    -H 'Content-Type: text/plain' --data 0 "$URL/moto-api/reset-auth")
[ "$code" = 200 ] || { echo "reset-auth answered $code"; exit 1; }

run_phase auth || exit 1
echo "creds_sts: ok"
