#!/usr/bin/env bash
# daemon_empty_fingerprint.sh: a checkpoint with an acknowledged offset but an empty fingerprint
# (the file was empty when opened) proves nothing about which file has its inode now.
# 1. Root cause: a.log opened empty, written, rotated out of the glob and released while the
#    endpoint is down, then acknowledged: the state keeps a fingerprint for it (before: offset > 0
#    with fp_len 0, since the fingerprint grew only while the tail still had the file).
# 2. Such a checkpoint (as the previous binary wrote it) whose inode is now a new b.log in the
#    glob: b.log is read from its start, nothing lost (before: resumed at the old offset, the
#    first 50 entries never sent).
# 3. Such a checkpoint of a c.log that is gone, whose inode is now c.txt out of the glob: c.log is
#    reported lost (file_lost marker) and nothing of c.txt is sent (before: c.txt was adopted as
#    c.log and read from the old offset into c.log's stream, and no loss was reported).
# 4. At offset 0 (below).
# Checking front; bounded: about 35 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"

# craft PATH INODE_OF OFFSET: a version-2 state with one checkpoint of PATH, fp_len 0.
craft() {
    python3 - "$T/state/state.json" "$1" "$2" "$3" <<'PY'
import json, os, sys, time
st = os.stat(sys.argv[3])
json.dump({"version": 2, "files": [{"path": sys.argv[2], "dev": str(st.st_dev),
           "ino": str(st.st_ino), "fp_len": 0, "fp": "0" * 64, "offset": sys.argv[4],
           "updated_ms": int(time.time() * 1000)}], "streams": []}, open(sys.argv[1], "w"))
PY
}

# 1.
G=/hsm/empty-fp
haf_config "$G" "{file}"
: >"$T/audit/a.log"
# Down for 12 s (the front refuses every connection, its control too): a.log is released first.
front_faults "{\"down_until\": $(($(date +%s) + 12))}"
haf_start
haf_wait_log "a.log: new file" 10 || haf_fail "1: a.log not opened"
haf_gen "$T/audit/a.log" 0 20
sleep 1
mv "$T/audit/a.log" "$T/audit/a.log.1"
haf_wait_log "a.log: released" 15 || haf_fail "1: a.log not released"
grep -q "created log stream" "$T/daemon.log" && haf_fail "1: the endpoint came back before the release"
haf_wait_exact "$G" 0 19 30 >/dev/null || haf_fail "1: 0..19 not delivered"
sleep 1
haf_stop
python3 - "$T/state/state.json" <<'PY' || haf_fail "1: a checkpoint with an offset and no fingerprint"
import json, sys
bad = [f for f in json.load(open(sys.argv[1]))["files"] if int(f["offset"]) > 0 and f["fp_len"] == 0]
assert not bad, bad
PY

# 2.
G2=/hsm/empty-fp-reuse
rm -f "$T/audit"/* "$T/state"/*
haf_config "$G2" "{file}"
haf_gen "$T/audit/b.log" 0 50
off=$(stat -c %s "$T/audit/b.log")
haf_gen "$T/audit/b.log" 50 50
craft "$T/audit/b.log" "$T/audit/b.log" "$off"
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" = 0 ] || haf_fail "2: --once exited $rc"
out=$(haf_wait_exact "$G2" 0 99 10) || { echo "$out"; haf_fail "2: entries of b.log lost"; }
echo "2: $out"

# 3.
G3=/hsm/empty-fp-lost
rm -f "$T/audit"/* "$T/state"/*
haf_config "$G3" "{file}"
haf_gen "$T/audit/c.txt" 0 30
craft "$T/audit/c.log" "$T/audit/c.txt" 1000
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" != 0 ] || haf_fail "3: --once exited 0 although c.log was lost"
grep -q "error.*c.log: file lost" "$T/daemon.log" || haf_fail "3: the loss of c.log was not logged"
python3 - "$T/record.jsonl" "$G3" <<'PY' || haf_fail "3: c.txt was shipped, or no file_lost marker"
import json, sys
msgs = [json.loads(json.loads(l)["message"]) for l in open(sys.argv[1]) if json.loads(l)["group"] == sys.argv[2]]
assert [m.get("event") for m in msgs] == ["file_lost"], msgs[:3]
print("3: only the file_lost marker:", msgs[0])
PY
[ $? -eq 0 ] || exit 1

# 4. A checkpoint at offset 0 with an empty fingerprint, of a d.log that is gone, whose inode is
#    now a compressed d.log.1.gz: not adopted (before: its gzip bytes were shipped into d.log's
#    stream); d.log is reported lost.
G4=/hsm/empty-fp-gz
rm -f "$T/audit"/* "$T/state"/*
haf_config "$G4" "{file}"
haf_gen "$T/d.txt" 0 30
gzip -c "$T/d.txt" >"$T/audit/d.log.1.gz"
craft "$T/audit/d.log" "$T/audit/d.log.1.gz" 0
haf_start --once
wait "$HAF_PID"; rc=$?; HAF_PID=
[ "$rc" != 0 ] || haf_fail "4: --once exited 0 although d.log was lost"
python3 - "$T/record.jsonl" "$G4" <<'PY' || haf_fail "4: d.log.1.gz was shipped, or no file_lost marker"
import json, sys
msgs = [json.loads(json.loads(l)["message"]) for l in open(sys.argv[1]) if json.loads(l)["group"] == sys.argv[2]]
assert [m.get("event") for m in msgs] == ["file_lost"], msgs[:3]
print("4: only the file_lost marker")
PY
[ $? -eq 0 ] || exit 1
front_assert_clean
echo "PASS daemon_empty_fingerprint"
