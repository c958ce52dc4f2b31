#!/usr/bin/env bash
# cwl_moto.sh: the CloudWatch Logs client (src/cwl.c over src/http.c, SigV4 and env credentials)
# against moto_server with IAM authentication enforced (tests/tools/moto.sh). Runs the moto cases
# of the test_cwl program (create group / already exists / retention / stream / PutLogEvents /
# GetLogEvents read-back both ways; ResourceNotFound; wrong secret -> SignatureDoesNotMatch;
# unknown key -> InvalidClientTokenId; a user whose policy lacks logs:PutLogEvents ->
# AccessDenied), checks that none of them was skipped, then reads the happy-path stream back with
# the real AWS CLI and compares it line by line with what the client sent, and checks through
# moto's model data that the retention policy was set.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BUILD_DIR:?}"
bin="$HAF_BUILD_DIR/tests/test_cwl"
[ -x "$bin" ] || { echo "cwl_moto: $bin not built"; exit 1; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
cleanup() { moto_stop; rm -rf "$work"; }
MOTO_NO_TRAP=1
trap cleanup EXIT
rc=0
moto_start || rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; echo "cwl_moto: moto_start failed"; exit 1; }

export HAF_CWL_IT_OUT="$work/happy.txt"
if ! timeout 240 "$bin" >"$work/test.log" 2>&1; then
    cat "$work/test.log"
    echo "cwl_moto: test_cwl failed against moto"
    exit 1
fi
if grep -q 'SKIPPED' "$work/test.log"; then
    cat "$work/test.log"
    echo "cwl_moto: moto cases were skipped although MOTO_URL was set"
    exit 1
fi
n_moto=$(grep -c '^\[       OK \] test_cwl_moto_' "$work/test.log" || true)
[ "$n_moto" -eq 5 ] || { cat "$work/test.log"; echo "cwl_moto: expected 5 moto cases, ran $n_moto"; exit 1; }

group=$(sed -n 1p "$HAF_CWL_IT_OUT")
stream=$(sed -n 2p "$HAF_CWL_IT_OUT")
moto_get_events "$group" "$stream" >"$work/got.txt"
for i in 1 2 3 4 5; do echo "haf cwl event $i"; done >"$work/want.txt"
if ! diff -u "$work/want.txt" "$work/got.txt"; then
    echo "cwl_moto: the AWS CLI read back something else than the client sent"
    exit 1
fi

# Retention: the writer may not DescribeLogGroups (least privilege), so ask moto's model store.
days=$(curl -s --max-time 10 "$MOTO_URL/moto-api/data.json" |
    jq -r --arg g "$group" '[.. | objects | select(.name? == $g) | .retention_in_days?] | map(select(. != null)) | first // empty')
if [ "$days" != 365 ]; then
    echo "cwl_moto: retention of $group is '$days', want 365"
    exit 1
fi
echo "cwl_moto: ok ($n_moto moto cases, read-back of 5 events matches, retention 365)"
