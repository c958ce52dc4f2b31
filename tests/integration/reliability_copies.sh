#!/usr/bin/env bash
# Reliability: copies of delivered entries coming back, however many, under kill -9 (issue 10, the
# replay ledger). A writer appends entries at a steady rate and rotates by copytruncate every 1500
# entries (audit.log copied to audit.log.1, older copies shifted, all matched by the glob
# audit.log*), more than the replay window's 1024; a copier puts, every ~1.5 s, a copy of a random
# file of the glob back into it under a new name (audit.log.copyN: a restore from backup, a
# `cp a.log b.log`), whole for a rotated file and without its possibly unfinished last entry for
# audit.log; the daemon is killed with SIGKILL REL_KILLS times (default 10) at random moments and
# restarted after a random 0.3-1.5 s pause, so copies arrive while it is down and while it reads.
# At the end every entry is in the log group exactly once (by (reboot_counter, sequence_no),
# through the API and the front's record), the final run counted no replay_older (nothing shipped
# that could not be told from a copy), and no request broke a CloudWatch rule. With the window
# alone (before the ledger) every copy older than the last 1024 acknowledged entries was shipped
# again.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup copies
KILLS=${REL_KILLS:-10}
COUNT=${REL_COPIES_ENTRIES:-6000}
RATE=${REL_COPIES_RATE:-250}
G=/cloudhsm/reliability/copies

rel_front_start --slow 0.2 --slow-seconds 0.3 --seed "${REL_SEED:-$RANDOM}"
REL_MAX_EVENTS=50 rel_config "$G" "$T/audit/audit.log*" "{hostname}/hsm-copies"
: >"$T/audit/audit.log"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/audit.log" \
    --count "$COUNT" --rate "$RATE" --chunk 1 --rotate-every 1500 --rotate-mode copytruncate \
    --keep 20 >"$T/writer.out" 2>&1 &
WRITER=$!
REL_BG_PIDS+=("$WRITER")
REL_WRITTEN=$COUNT

# The copier: each copy is written outside the glob and renamed in, so it appears whole.
python3 - "$T/audit" "$T/copy.tmp" "$WRITER" >"$T/copier.out" 2>&1 <<'PY' &
import os, random, re, sys, time
audit, tmp, writer = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 0
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False
while alive(writer):
    time.sleep(random.uniform(1.0, 2.0))
    names = [f for f in os.listdir(audit) if re.fullmatch(r"audit\.log(\.[0-9]+)?", f)]
    if not names:
        continue
    name = random.choice(names)
    try:
        data = open(os.path.join(audit, name), "rb").read()
    except OSError:
        continue
    if name == "audit.log":
        cut = data.rfind(b"\nTime: ")  # the last entry may be half written: leave it out
        data = data[:cut + 1] if cut >= 0 else b""
    if data.count(b"Time: ") < 2:
        continue
    open(tmp, "wb").write(data)
    n += 1
    os.rename(tmp, os.path.join(audit, "audit.log.copy%d" % n))
    print("copy %d of %s: %d entries" % (n, name, data.count(b"Time: ")), flush=True)
PY
COPIER=$!
REL_BG_PIDS+=("$COPIER")

rel_kill_cycles "$KILLS" 0.3 2.5 1.5
kills=$KILLS

wait "$WRITER" || rel_fail "the writer failed: $(cat "$T/writer.out")"
wait "$COPIER"
haf_start
rel_wait_record 0 $((COUNT - 1)) 120 || rel_fail "not everything delivered exactly once"
haf_stop
copies=$(grep -c '^copy ' "$T/copier.out")
copied=$(awk '{s += $(NF - 1)} END {print s + 0}' "$T/copier.out")
older=$(grep 'counters:' "$T/daemon.log" | tail -n 1 | sed -n 's/.* replay_older=\([0-9]*\).*/\1/p')
skipped=$(grep 'counters:' "$T/daemon.log" | tail -n 1 | sed -n 's/.* replays_skipped=\([0-9]*\).*/\1/p')
ledger=$(($(stat -c %s "$T"/state/ledger/*.main | head -n 1) / 24 - 1))
REL_NOTE="$kills kills; $copies copies holding $copied entries put back into the glob, plus copytruncate every 1500; last run: replays_skipped=$skipped replay_older=$older; ledger $ledger records"
echo "$REL_NOTE"
[ "$copies" -gt 0 ] || rel_fail "no copy was made (nothing tested)"
[ "$older" = 0 ] || rel_fail "replay_older=$older in the last run"
rel_verify "$G" 0 $((COUNT - 1))
echo "PASS reliability_copies"
