#!/usr/bin/env bash
# daemon_secrets_memory.sh: released credentials do not stay in the daemon's memory (issue 11,
# finding 6). The daemon takes 8-second credentials from a local IMDSv2 (imds_server.py, new keys
# on every fetch) and ships entries written every half second for about 12 s, so it refreshes
# several times; the checking front verifies every signature against the issued keys. Then, with
# the daemon still running, its whole memory (/proc/PID/mem over /proc/PID/maps, tests/tools/
# memscan.py) must hold zero copies of any session token or secret key that was replaced (all
# but the last one issued). The daemon runs as nobody, and its /proc files must belong to root:
# PR_SET_DUMPABLE 0, so neither a core dump nor another process of its user can read them.
# Needs root (skips with 77 otherwise). Bounded: about 20 s (45 s under AddressSanitizer, whose
# quarantine keeps freed blocks unreused: a copy not wiped by us would show there for sure).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (reads another user's process memory)"; exit 77; }
haf_setup
IMDS_PID=
haf_extra_cleanup() {
    front_stop
    [ -n "$IMDS_PID" ] && kill "$IMDS_PID" 2>/dev/null && wait "$IMDS_PID" 2>/dev/null
    return 0
}

haf_imds_start --lifetime 8 --region us-east-1 --issued-file "$T/issued.jsonl"
# The front accepts the keys listed in issued.jsonl: a checker key of our own (for the delivery
# checks below, never seen by the daemon) and the keys the IMDS issues. Only the daemon fetches
# from the IMDS, so the last key issued is the one it holds.
echo "{\"AccessKeyId\": \"AKIDHAFCHECKER000001\", \"SecretAccessKey\": \"checker/secret/key\", \
\"Token\": \"checkertoken\", \"Expiration\": $(($(date +%s) + 3600))}" >>"$T/issued.jsonl"
front_start --credentials-file "$T/issued.jsonl"
export AWS_ACCESS_KEY_ID=AKIDHAFCHECKER000001 AWS_SECRET_ACCESS_KEY=checker/secret/key
export AWS_SESSION_TOKEN=checkertoken

G=/cloudhsm/secrets-memory
haf_write_config "sources:
  - path: $T/audit/*.log
    log_group: $G
    log_stream: mem"
chmod 755 "$T" "$T/audit"
chown nobody: "$T/state"
: >"$T/audit/hsm.log"
chmod 644 "$T/audit/hsm.log"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_EC2_METADATA_DISABLED \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IMDS_PORT/" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$HAF_BIN" -f -v -c "$T/haf.yaml" \
    >>"$T/daemon.out" 2>>"$T/daemon.log" &
HAF_PID=$!
haf_wait_log "watching 1 files" 10 || haf_fail "daemon did not start"
# Credentials are fetched on the loop when a stream first needs them, not at start: that the
# daemon uses the IMDS (the only credentials it can have: the environment's are unset above) is
# shown below by the deliveries and the credentials issued.
owner=$(stat -c %U "/proc/$HAF_PID/mem")
[ "$owner" = root ] || haf_fail "/proc/$HAF_PID/mem belongs to $owner: the daemon is dumpable"

for i in $(seq 0 23); do
    haf_gen "$T/audit/hsm.log" $((i * 5)) 5
    sleep 0.5
done
haf_wait_exact "$G" 0 119 20 || haf_fail "entries not delivered exactly once"
issued=$(($(wc -l <"$T/issued.jsonl") - 1))
[ "$issued" -ge 3 ] || haf_fail "only $issued credentials issued: no refresh to test"
# Credentials are refreshed on the loop, and a set the IMDS has served is taken in at the next
# credentials request (creds_get): until then the set before it is still the one in use, held by
# the provider and by the headers of the latest signed request (seen: its token behind
# "X-Amz-Security-Token: " and both strings as live allocations). So the last two sets are not
# counted; every set before them was replaced and must be gone. A scan is repeated up to 3 times
# a second apart; a copy really left behind stays in every scan.
for attempt in 1 2 3; do
    sleep 1
    python3 "$HAF_SOURCE_DIR/tests/tools/memscan.py" "$HAF_PID" "$T/issued.jsonl" --skip-last 2 \
        >"$T/memscan.out" 2>&1
    cat "$T/memscan.out"
    grep -qx 'TOTAL 0' "$T/memscan.out" && break
done
grep -qx 'TOTAL 0' "$T/memscan.out" ||
    haf_fail "copies of released credentials remain in the daemon's memory ($issued issued)"
haf_stop
front_assert_clean
echo "PASS daemon_secrets_memory ($issued credentials issued)"
