#!/usr/bin/env bash
# daemon_symlink_outside.sh: a symlink in the audit directory cannot make the daemon ship a file
# from elsewhere (issue 11, finding 3). The watched directory holds a.log (entries 0..9), x.log, a
# link to a 0600 secret outside the directory (a stand-in for the service's credentials file),
# and in.log, a link to data/in.log inside it (entries 10..19). `--once` ships exactly 0..19, no
# event holds the secret, no stream is made for x.log, and the log warns once, naming x.log. With
# follow_symlinks: true on the source the link is followed (its text shipped as a flagged
# event). Bounded: about 6 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/symlinks
mkdir -p "$T/secret" "$T/audit/data"
printf '[default]\naws_secret_access_key = SECRETSECRETSECRET\n' >"$T/secret/credentials"
chmod 600 "$T/secret/credentials"
ln -s "$T/secret/credentials" "$T/audit/x.log"
haf_gen "$T/audit/a.log" 0 10
haf_gen "$T/audit/data/in.log" 10 10
ln -s data/in.log "$T/audit/in.log"
haf_write_config "sources:
  - path: $T/audit/*.log
    log_group: $G
    log_stream: \"{file}\""
timeout 30 "$HAF_BIN" -f --once -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" ||
    haf_fail "--once failed"
haf_wait_exact "$G" 0 19 10 || haf_fail "not exactly the entries of a.log and the inside link"
# secret_events GROUP: events holding the secret, and streams named after x.log.
secret_events() {
    python3 - "$HAF_ENDPOINT" "$1" <<'PY'
import sys
import boto3
logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1")
n = 0
for s in logs.describe_log_streams(logGroupName=sys.argv[2])["logStreams"]:
    n += s["logStreamName"].startswith("x.log")
    for e in logs.get_log_events(logGroupName=sys.argv[2], logStreamName=s["logStreamName"],
                                 startFromHead=True)["events"]:
        n += "SECRETSECRET" in e["message"]
print(n)
PY
}
[ "$(secret_events "$G")" = 0 ] || haf_fail "the file behind the outside link was shipped"
warn=$(grep -c "x.log: symlink not followed" "$T/daemon.log")
[ "$warn" = 1 ] || haf_fail "want one warning naming x.log, got $warn"
grep -q "in.log: symlink not followed" "$T/daemon.log" && haf_fail "the inside link was refused"

# The explicit opt-in follows it.
G2=/cloudhsm/symlinks-followed
rm -rf "$T/state"/*
haf_write_config "sources:
  - path: $T/audit/x.log
    log_group: $G2
    log_stream: \"{file}\"
    follow_symlinks: true"
timeout 30 "$HAF_BIN" -f --once -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log" ||
    haf_fail "--once with follow_symlinks failed"
[ "$(secret_events "$G2")" -ge 1 ] || haf_fail "follow_symlinks: true did not follow the link"
front_assert_clean
echo "PASS daemon_symlink_outside"
