#!/usr/bin/env bash
# daemon_rotated_in_glob.sh: a file renamed within the glob while the service is down keeps its
# stream. Glob *.log*, stream "{file}": ship a.log; stop; the writer appends 300 entries; logrotate
# renames a.log to a.log.1 (still matched) and a new a.log starts; start again. The rest of
# a.log.1 goes to stream a.log, before the new file's entries, with no sequence_gap marker and
# nothing twice, as when the rename happens while the daemon runs (regression: it went to a new
# stream "a.log.1", and stream a.log got a false sequence_gap marker). About 10 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"

G=/cloudhsm/rotated-in-glob
haf_config "$G" "{file}"
sed -i "s|path: $T/audit/\*.log$|path: $T/audit/*.log*|" "$T/haf.yaml"
grep -q "path: $T/audit/\*.log\*$" "$T/haf.yaml" || haf_fail "could not set the glob"
haf_gen "$T/audit/a.log" 0 100
haf_start
haf_wait_exact "$G" 0 99 20 >/dev/null || haf_fail "the first 100 entries were not delivered"
haf_stop
haf_gen "$T/audit/a.log" 100 300
mv "$T/audit/a.log" "$T/audit/a.log.1"
haf_gen "$T/audit/a.log" 400 50
haf_start
out=$(haf_wait_exact "$G" 0 449 20) || { echo "$out"; haf_fail "entries lost or duplicated"; }
echo "$out"
haf_stop
python3 "$HAF_SOURCE_DIR/tests/tools/record_order.py" --record "$T/record.jsonl" --group "$G" \
    --streams a.log --entries 450 || haf_fail "order, stream or extra events wrong"
front_assert_clean
echo "PASS daemon_rotated_in_glob"
