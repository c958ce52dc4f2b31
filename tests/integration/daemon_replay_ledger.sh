#!/usr/bin/env bash
# daemon_replay_ledger.sh: a file without a checkpoint repeating MORE acknowledged entries than the
# replay window holds (REPLAY_WINDOW 1024) ships none of them again: the marks the window forgot
# are in the stream's on-disk replay ledger (issue 10, the last duplicate path). Against the
# checking front, one stream (template "hsm"), glob *.log:
#   1. a.log 0..2999 shipped; the ledger holds the 1976 marks the window forgot (24 bytes each).
#   2. Down: `cp a.log b.log` and 3000..3099 appended to a.log. --once: b.log's 3000 entries are
#      replays (skipped), 3000..3099 shipped; replay_older=0.
#   3. Down: c.log = the last 2000 entries of a.log (a partial copy). --once: all skipped.
#   4. Down: 3100..8099 appended to a.log and `cp a.log d.log` (a copy holding 5000 entries never
#      shipped); the daemon is killed with SIGKILL mid-delivery, then restarted: 0..8099 once.
#   5. Down: copytruncate into the glob (cp a.log a-rot.log; truncate a.log) and 8100..8199
#      appended. --once: a-rot.log's 8200 entries skipped, 8100..8199 shipped.
# After each step CloudWatch holds every entry exactly once and nothing else. On main (window
# only), step 2 shipped the 1976 entries older than the window a second time (replay_older=1976).
# 6. A group-writable ledger directory stops the start with the fix (as the state directory).
# 7. A ledger that cannot be read: a copy is shipped (never dropped), counted as replay_older.
# Bounded: about 60 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start
export HAF_REBOOT=7

G=/cloudhsm/replay-ledger
haf_config "$G" "hsm"

# once_run NAME: a --once run that must exit 0; its counters line is left in $T/counters.NAME.
once_run() {
    : >"$T/daemon.log"
    haf_start --once
    wait "$HAF_PID"
    local rc=$?
    HAF_PID=
    [ "$rc" = 0 ] || haf_fail "$1: --once exited $rc"
    grep "counters:" "$T/daemon.log" | tail -n 1 >"$T/counters.$1"
}

# counter NAME KEY: a counter of a --once run.
counter() {
    sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$T/counters.$1"
}

# expect_run NAME SKIPPED SHIPPED: the counters of --once run NAME.
expect_run() {
    echo "$1: $(cat "$T/counters.$1")"
    [ "$(counter "$1" replays_skipped)" = "$2" ] || haf_fail "$1: not $2 entries skipped as replays"
    [ "$(counter "$1" replay_older)" = 0 ] || haf_fail "$1: replay_older is not 0"
    [ "$(counter "$1" shipped)" = "$3" ] || haf_fail "$1: not exactly $3 entries shipped"
    ! grep -q "may be a duplicate" "$T/daemon.log" || haf_fail "$1: a 'may be a duplicate' warning"
}

ledger_recs() {
    local f
    f=$(ls "$T"/state/ledger/*.main 2>/dev/null | head -n 1)
    [ -n "$f" ] || { echo 0; return; }
    echo $((($(stat -c %s "$f") - 24) / 24))
}

# 1.
haf_gen "$T/audit/a.log" 0 3000
once_run first
haf_wait_exact "$G" 0 2999 30 >/dev/null || haf_fail "step 1: 0..2999 not delivered once"
recs_after_first=$(ledger_recs)

# 2. A full copy, plus new entries.
cp "$T/audit/a.log" "$T/audit/b.log"
touch -d '-1 minute' "$T/audit/b.log"
haf_gen "$T/audit/a.log" 3000 100
once_run copy
expect_run copy 3000 100
haf_wait_exact "$G" 0 3099 30 >/dev/null || haf_fail "step 2: 0..3099 not delivered once"
[ "$recs_after_first" = 1976 ] || haf_fail "step 1: the ledger held $recs_after_first records, not 1976"
[ "$(stat -c %a "$T/state/ledger")" = 700 ] || haf_fail "ledger directory not 0700"
[ "$(stat -c %a "$(ls "$T"/state/ledger/*.main)")" = 600 ] || haf_fail "ledger file not 0600"

# 3. A partial copy: the last 2000 entries.
python3 - "$T/audit/a.log" "$T/c.log" <<'PY' || haf_fail "cannot build c.log"
import re, sys
entries = [e for e in re.split(r"(?m)^(?=Time: )", open(sys.argv[1]).read()) if e]
assert len(entries) == 3100, len(entries)
open(sys.argv[2], "w").write("".join(entries[-2000:]))
PY
mv "$T/c.log" "$T/audit/c.log"
once_run partial
expect_run partial 2000 0
haf_wait_exact "$G" 0 3099 30 >/dev/null || haf_fail "step 3: 0..3099 not delivered once"

# 4. kill -9 while a copy holding new entries is delivered.
haf_gen "$T/audit/a.log" 3100 5000
cp "$T/audit/a.log" "$T/audit/d.log"
HAF_FLUSH_MS=50 haf_config "$G" "hsm" "  max_events: 200"
haf_start
for _ in $(seq 1 100); do
    [ "$(ledger_recs)" -gt 2200 ] && break
    sleep 0.05
done
kill -9 "$HAF_PID"
wait "$HAF_PID" 2>/dev/null
HAF_PID=
echo "step 4: killed with $(ledger_recs) ledger records"
haf_config "$G" "hsm"
haf_start
# While it delivers, one read can see an event twice (pages shift): wait for two reads to agree,
# then check once more with the daemon stopped.
haf_wait_delivered "$G" 0 8099 60 >/dev/null ||
    haf_fail "step 4: 0..8099 not delivered once after kill -9: $(haf_check "$G" 0 8099 2>&1)"
haf_stop
haf_wait_exact "$G" 0 8099 10 >/dev/null ||
    haf_fail "step 4: 0..8099 not delivered once after kill -9: $(haf_check "$G" 0 8099 2>&1)"

# 5. copytruncate with a copy the glob matches.
cp "$T/audit/a.log" "$T/audit/a-rot.log"
touch -d '-1 minute' "$T/audit/a-rot.log"
: >"$T/audit/a.log"
haf_gen "$T/audit/a.log" 8100 100
once_run copytruncate
expect_run copytruncate 8100 100
haf_check "$G" 0 8199 --quiet --json-out "$T/check.json" >/dev/null
python3 - "$T/check.json" <<'PY' || haf_fail "final check_delivery counts wrong"
import json, sys
r = json.load(open(sys.argv[1]))
print("check_delivery:", r)
assert r["lost"] == 0 and r["duplicates"] == 0 and r["delivered"] == 8200, r
assert r["unexpected"] == 0 and r["events"] == 8200, r
PY
[ $? -eq 0 ] || exit 1
# The window (state file) and the ledger together hold a mark for each of 0..8199, the sorted
# file is strictly sorted, and nothing is recorded twice in the ledger.
python3 - "$T/state" <<'PY' || haf_fail "window + ledger do not hold every acknowledged entry"
import glob, json, struct, sys
recs = {}
for f in glob.glob(sys.argv[1] + "/ledger/*"):
    b = open(f, "rb").read()
    assert b[:8] == b"HAFLEDG1", f
    recs[f.rsplit(".", 1)[1]] = [struct.unpack("<QQQ", b[24 + 24 * i:48 + 24 * i])
                                 for i in range((len(b) - 24) // 24)]
main, side = recs["main"], recs["side"]
assert all(main[i] < main[i + 1] for i in range(len(main) - 1)), "main not strictly sorted"
window = [tuple(int(x, 16) if i == 2 else int(x) for i, x in enumerate(m.split(":")))
          for s in json.load(open(sys.argv[1] + "/state.json"))["streams"]
          for m in s.get("acked", "").split()]
ledger = main + side
assert len(set(ledger)) == len(ledger), "a mark twice in the ledger"
seqs = {m[1] for m in ledger + window}
assert seqs == set(range(8200)), sorted(set(range(8200)) - seqs)[:10]
print("marks: main %d side %d window %d, every entry of 0..8199" % (len(main), len(side), len(window)))
PY
# An unsafe ledger directory stops the start with the fix, as an unsafe state directory does.
chmod 0770 "$T/state/ledger"
: >"$T/daemon.log"
haf_start --once
wait "$HAF_PID"
rc=$?
HAF_PID=
[ "$rc" != 0 ] || haf_fail "started with a group-writable ledger directory"
grep -q "replay ledger directory .* chmod go-w" "$T/daemon.log" ||
    haf_fail "no clear message for the group-writable ledger directory"
chmod 0700 "$T/state/ledger"

# 7. A ledger that cannot be read fails toward no loss: a copy of 1500 delivered entries (all
# older than the window) is shipped again, counted (replay_older) and logged at error; as it
# cannot be written either, the state is not saved and --once gives up after the first batch
# (exit 1). With the ledger back, the next run ships nothing more: the whole copy is recognised
# (its entries are the originals the ledger holds).
main=$(ls "$T"/state/ledger/*.main)
mv "$main" "$T/main.saved"
mkdir "$main"
python3 - "$T/audit/a-rot.log" "$T/e.log" <<'PY' || haf_fail "cannot build e.log"
import re, sys
entries = [e for e in re.split(r"(?m)^(?=Time: )", open(sys.argv[1]).read()) if e]
open(sys.argv[2], "w").write("".join(entries[:1500]))
PY
mv "$T/e.log" "$T/audit/e.log"
: >"$T/daemon.log"
haf_start --once
wait "$HAF_PID"
rc=$?
HAF_PID=
grep "counters:" "$T/daemon.log" | tail -n 1 >"$T/counters.unreadable"
echo "unreadable: $(cat "$T/counters.unreadable")"
[ "$rc" = 1 ] || haf_fail "step 7: --once exited $rc with a ledger that cannot be written"
[ "$(counter unreadable replay_older)" = 1500 ] || haf_fail "step 7: not 1500 shipped as replay_older"
[ "$(grep -c 'error .*replay ledger .*Is a directory; entries that may be copies are shipped' "$T/daemon.log")" = 1 ] ||
    haf_fail "step 7: the unreadable ledger was not logged once at error"
grep -q "could not be written" "$T/daemon.log" || haf_fail "step 7: the held state save was not reported"
dups=$(counter unreadable shipped)
rmdir "$main"
mv "$T/main.saved" "$main"
once_run recovered
expect_run recovered 1500 0
haf_check "$G" 0 8199 --quiet --json-out "$T/check.json" >/dev/null
python3 - "$T/check.json" "$dups" <<'PY' || haf_fail "step 7: not exactly the first batch twice"
import json, sys
r = json.load(open(sys.argv[1]))
print("check_delivery:", r)
assert r["lost"] == 0 and r["duplicates"] == int(sys.argv[2]) and r["delivered"] == 8200, r
PY
[ $? -eq 0 ] || exit 1
front_assert_clean
echo "PASS daemon_replay_ledger"
