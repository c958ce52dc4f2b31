#!/usr/bin/env bash
# digest_verify_files.sh: `hsm-audit-forwarder verify FILE...` on exported streams, offline: the
# events as `aws logs get-log-events` JSON, the digest records as S3-export lines
# ("<ISO time> <message>"), signed with a local Ed25519 key by tests/digest_tool. Checks: proven
# (exit 0) with --public-key; the JSON report's counters; --since/--until selecting the middle
# record (proven on its own); one byte changed -> exit 1 "altered"; a multi-line raw CloudHSM
# message in export lines keeps its continuation lines; no key -> "continuity only" (exit 0, and
# exit 1 with a sequence gap); a key but no digest file -> exit 1 "no digests found"; the public
# key of another key -> exit 1 "signature invalid"; usage errors -> exit 2.
set -euo pipefail
: "${HAF_BIN:?}" "${HAF_BUILD_DIR:?}"
tool=$HAF_BUILD_DIR/tests/digest_tool
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "digest_verify_files: $*"; exit 1; }
cd "$work"

openssl genpkey -algorithm ed25519 -out k.pem 2>/dev/null && chmod 600 k.pem
openssl pkey -in k.pem -pubout -out k.pub 2>/dev/null
openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null && chmod 600 other.pem
openssl pkey -in other.pem -pubout -out other.pub 2>/dev/null
python3 - <<'PY'
import json
ev = [{"timestamp": 1700000000000 + i * 1000, "ingestionTime": 1700000000500 + i * 1000,
       "message": json.dumps({"sequence_no": i + 1, "reboot_counter": 7, "opcode": "CN_LOGIN"})}
      for i in range(12)]
open("ev.jsonl", "w").write("".join(json.dumps(e) + "\n" for e in ev))
json.dump({"events": ev, "nextForwardToken": "f/1", "nextBackwardToken": "b/1"},
          open("events.json", "w"), indent=4)
PY
"$tool" --key-file k.pem --stream host/a.log --every 4 --stop --time-ms 1700000100000 \
    --interval-s 300 <ev.jsonl >records.jsonl
python3 - <<'PY'
import datetime, json
with open("digests.txt", "w") as out:
    for line in open("records.jsonl"):
        t = json.loads(line)["time_ms"]
        iso = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        out.write(iso.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ " % (t % 1000) + line)
PY

expect() { # exit code, text, args...
    local want=$1 text=$2 got=0
    shift 2
    timeout 60 "$HAF_BIN" verify "$@" >out.txt 2>&1 || got=$?
    [ "$got" = "$want" ] || { cat out.txt; fail "verify $* exited $got, expected $want"; }
    grep -q -- "$text" out.txt || { cat out.txt; fail "verify $*: no '$text'"; }
}

expect 0 "stream host/a.log (group -): PROVEN" --public-key k.pub events.json digests.txt
expect 0 "covered 12, injected 0" --public-key k.pub digests.txt events.json
timeout 60 "$HAF_BIN" verify --public-key k.pub --format json events.json digests.txt >out.json
python3 -c 'import json; d=json.load(open("out.json")); s=d["streams"][0]; assert d["proven"] and d["signatures_checked"] and s["events"]==12 and s["covered"]==12 and s["valid_digests"]==4 and s["findings"]==[], d'
# the second record was sealed at 1700000400000: it alone, and its 4 events
expect 0 "events 4 " --public-key k.pub --since 2023-11-14T22:20:00Z --until 1700000500000 \
    events.json digests.txt
echo "digest_verify_files: proven, also for a range"

python3 - <<'PY'
import json
d = json.load(open("events.json"))
d["events"][6]["message"] = d["events"][6]["message"].replace("CN_LOGIN", "CN_LOGIM")
json.dump(d, open("altered.json", "w"))
PY
expect 1 "altered: record seq 2" --public-key k.pub altered.json digests.txt
expect 1 "signature invalid" --public-key other.pub events.json digests.txt
expect 1 "NOT PROVEN: no digests found" --public-key k.pub events.json
expect 0 "no digests: integrity not provable, continuity only" events.json
python3 - <<'PY'
import json
d = json.load(open("events.json"))
del d["events"][5]
json.dump(d, open("gap.json", "w"))
PY
expect 1 "HSM sequence gap in reboot counter 7: 1 missing" gap.json
echo "digest_verify_files: altered, another key, no digests, continuity"

# raw CloudHSM text in export lines: continuation lines belong to the message
printf '%s\n' "2023-11-14T22:13:20.000Z Time: 01/24/18 17:44:25.013218, usecs:1516815865013218" \
    "Sequence No : 0x1" "Reboot counter : 0x107" "Command Type(hex) : CN_MGMT_CMD (0x0)" \
    "Opcode : CN_LOGIN (0xd)" "Session Handle : 0x3008002" "Response : 0:HSM Return: SUCCESS" \
    "Log type : MGMT_USER_DETAILS_LOG (2)" \
    "2023-11-14T22:13:21.000Z Time: 01/24/18 17:44:26.013218, usecs:1516815866013218" \
    "Sequence No : 0x3" "Reboot counter : 0x107" "Command Type(hex) : CN_MGMT_CMD (0x0)" \
    "Opcode : CN_LOGIN (0xd)" "Session Handle : 0x3008002" "Response : 0:HSM Return: SUCCESS" \
    "Log type : MGMT_USER_DETAILS_LOG (2)" >raw.txt
expect 1 "sequence gap in reboot counter 263: 1 missing after sequence_no 1" raw.txt
expect 2 "usage" --public-key k.pub --log-group g events.json
expect 2 "not epoch ms" --since tomorrow events.json
expect 2 "--format is text or json" --format xml events.json
echo "digest_verify_files: ok"
