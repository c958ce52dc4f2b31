#!/usr/bin/env bash
# daemon_once_wedges.sh: input and conditions that used to lose entries silently, wedge a stream
# or make --once lie or hang (issue 10 §5), against the checking front:
# 1. One entry with "Sequence No : 0xffffffffffffffff" between good ones: it is delivered but must
#    not become the stream's acknowledged pair, so after a restart a new file (no checkpoint) with
#    the following entries is delivered, not skipped as replays (before: every one skipped, exit 0).
# 2. A file whose name is not UTF-8, and a stream name template expanding past 512 bytes: both
#    delivered (before: CreateLogStream refused for ever / abort()); names valid for CloudWatch.
# 3. --once when the state file cannot be written: exits non-zero within the attempts, nothing
#    sent (before: it never exited).
# 4. --once with more matched files than it may open at once (a low open-file limit): it closes the
#    files it delivered and opens the waiting ones, delivering all 80, and exits 0 (before: exit 0
#    with those files never opened).
# Bounded: about 30 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
export HAF_REBOOT=9

gen_to() { # gen_to FILE FIRST COUNT [SEQ_OVERRIDE_HEX_FOR_FIRST]
    python3 - "$@" <<'PY'
import os, random, re, sys, time
sys.path.insert(0, os.environ["HAF_SOURCE_DIR"] + "/tests/bench")
import gen_audit
path, first, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
usecs = int(time.time() * 1e6) - 300 * 10**6 + first * 1000
t = "".join(gen_audit.entries(n, usecs, 9, first, random.Random(first)))
if len(sys.argv) > 4:
    import re
    t = re.sub(r"Sequence No[ \t]*:[ \t]*0x[0-9a-f]+", "Sequence No : " + sys.argv[4], t, count=1)
    assert sys.argv[4] in t
open(path, "ab").write(t.encode())
PY
}
run_once() { # run_once: the daemon with --once; echoes its exit code
    haf_start --once "$@"
    wait "$HAF_PID"
    echo $?
    HAF_PID=
}

# 1. An implausible sequence number.
G=/cloudhsm/once-wedges
haf_config "$G" "s"
gen_to "$T/audit/a.log" 0 10
gen_to "$T/audit/a.log" 10 1 0xffffffffffffffff
gen_to "$T/audit/a.log" 10 10
rc=$(run_once)
[ "$rc" = 0 ] || haf_fail "1: first --once exited $rc"
grep -q "implausibly far" "$T/daemon.log" || haf_fail "1: the implausible pair was not reported"
gen_to "$T/audit/b.log" 20 10
rc=$(run_once)
[ "$rc" = 0 ] || haf_fail "1: second --once exited $rc"
grep -q "skipping entry" "$T/daemon.log" && haf_fail "1: entries of the new file were skipped"
haf_wait_delivered "$G" 0 29 20 >/dev/null || haf_fail "1: entries lost (taken for replays) or duplicated"

echo "1: done at ${SECONDS} s"
# 2. A file name that is not UTF-8, and a name template expanding past 512 bytes.
rm -f "$T/audit"/*.log "$T/state"/*
G2=/cloudhsm/once-wedges-names
haf_config "$G2" "{file}-{file}-{file}"
gen_to "$T/audit/caf"$'\xe9'".log" 0 5
gen_to "$T/audit/$(printf 'l%.0s' $(seq 1 200)).log" 5 5
rc=$(run_once)
[ "$rc" = 0 ] || { tail -5 "$T/daemon.log" >&2; haf_fail "2: --once exited $rc"; }
haf_wait_exact "$G2" 0 9 20 >/dev/null || haf_fail "2: entries of oddly named files not delivered"
python3 - "$T/record.jsonl" "$G2" <<'PY' || haf_fail "2: stream names not as documented"
import json, sys
names = {json.loads(l)["stream"] for l in open(sys.argv[1]) if json.loads(l)["group"] == sys.argv[2]}
assert len(names) == 2, names
for n in names:
    b = n.encode()
    assert 1 <= len(b) <= 512 and ":" not in n and "*" not in n, n
long = [n for n in names if len(n.encode()) > 300][0]
assert long[-17] == "~" and all(c in "0123456789abcdef" for c in long[-16:]), long
assert "caf_.log-caf_.log-caf_.log" in names, names
print("stream names:", sorted(len(n.encode()) for n in names))
PY
front_assert_clean

echo "2: done at ${SECONDS} s"
# 3. --once when the state file cannot be written (a directory stands where its temp file goes).
rm -f "$T/audit"/*.log "$T/state"/*
G3=/cloudhsm/once-wedges-state
haf_config "$G3" "s"
gen_to "$T/audit/c.log" 0 5
mkdir -p "$T/state/state.json.tmp/keep"
before=$(front_stat 's["put_requests"]' 2>/dev/null || echo 0)
start=$SECONDS
rc=$(timeout 60 bash -c "$(declare -f); HAF_BIN=$HAF_BIN T=$T; \"$HAF_BIN\" -f -v -c \"$T/haf.yaml\" --once 2>>\"$T/daemon.log\"; echo \$?" | tail -1)
[ "$rc" != 0 ] && [ "$rc" != 124 ] || haf_fail "3: --once exited $rc with an unwritable state (124: hung)"
grep -q "could not be written" "$T/daemon.log" || haf_fail "3: no error about the state file"
echo "3: exit $rc after $((SECONDS - start)) s"
rm -rf "$T/state/state.json.tmp"

echo "3: done at ${SECONDS} s"
# 4. --once with more matched files than it may open at once.
rm -f "$T/audit"/*.log "$T/state"/*
G4=/cloudhsm/once-wedges-many
haf_config "$G4" "s"
for i in $(seq 1 80); do gen_to "$T/audit/m$i.log" "$i" 1; sleep 0.01; done
rc=$(ulimit -n 64; "$HAF_BIN" -f -c "$T/haf.yaml" --once 2>>"$T/daemon.log"; echo $?)
[ "$rc" = 0 ] || { tail -5 "$T/daemon.log" >&2; haf_fail "4: --once exited $rc"; }
grep -q "files match the sources but wait unread" "$T/daemon.log" ||
    haf_fail "4: the open-file limit was not reached (nothing tested)"
haf_wait_exact "$G4" 1 80 20 >/dev/null || haf_fail "4: --once did not deliver every matched file"
echo "4: 80 files delivered by one --once run following $(grep -o 'watching [0-9]* files' "$T/daemon.log" | tail -1)"
echo "PASS daemon_once_wedges"
