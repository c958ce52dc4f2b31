#!/usr/bin/env bash
# Reliability: the endpoint is down for 30 s, then back. The daemon ships a first part, then the
# checking front closes every connection unread for REL_DOWN_SECONDS (default 30) while a writer
# appends about 40 MB of audit entries, far more than the daemon may hold. Its resident memory is
# sampled every half second: it must stay within REL_RSS_GROWTH_MIB (default 48 MiB) of what it
# was before the outage (the audit file on disk is the buffer, not the daemon's memory). When the
# endpoint is back, everything is delivered exactly once, by (reboot_counter, sequence_no),
# through the CloudWatch Logs API and the front's record, with no invalid request.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup down
DOWN=${REL_DOWN_SECONDS:-30}
BULK=${REL_DOWN_ENTRIES:-120000}
GROWTH_MIB=${REL_RSS_GROWTH_MIB:-48}
G=/cloudhsm/reliability/down

rel_front_start --seed "${REL_SEED:-$RANDOM}"
REL_MAX_EVENTS=10000 rel_config "$G" "$T/audit/*.log" "{hostname}/hsm-down"
haf_gen "$T/audit/hsm.log" 0 1000
haf_start
rel_wait_record 0 999 30 || rel_fail "the first 1000 entries were not delivered before the outage"
sleep 1
rss0=$(rel_rss_kib "$HAF_PID")
rel_faults "{\"down_until\": $(($(date +%s) + DOWN))}"
down_end=$((SECONDS + DOWN))

# About 330 bytes an entry: BULK entries are some 40 MB, written in the first seconds of the
# outage (in steps, so the daemon reads while the file grows).
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm.log" --count "$BULK" \
    --first 1000 --reboot "$HAF_REBOOT" --chunk 2000 >"$T/writer.out" 2>&1 &
WRITER=$!
REL_BG_PIDS+=("$WRITER")
REL_WRITTEN=$((1000 + BULK))
max=$rss0
while [ $SECONDS -lt $down_end ]; do
    kill -0 "$HAF_PID" 2>/dev/null || rel_fail "the daemon died during the outage"
    r=$(rel_rss_kib "$HAF_PID")
    [ "$r" -gt "$max" ] && max=$r
    sleep 0.5
done
wait "$WRITER" || rel_fail "the writer failed"
size=$(stat -c %s "$T/audit/hsm.log")
down_faults=$(rel_front_stat 's["faults"].get("down", 0)')
echo "RSS before the outage ${rss0} KiB, highest during it ${max} KiB; file ${size} bytes; refused connections ${down_faults}"
[ "$down_faults" -gt 0 ] || rel_fail "the daemon did not try the endpoint during the outage"
[ $((max - rss0)) -le $((GROWTH_MIB * 1024)) ] ||
    rel_fail "RSS grew by $(((max - rss0) / 1024)) MiB during the outage (limit ${GROWTH_MIB} MiB)"

rel_wait_record 0 $((REL_WRITTEN - 1)) 180 || rel_fail "not everything delivered exactly once after the outage"
haf_stop
REL_NOTE="down ${DOWN} s; RSS $((rss0 / 1024)) -> max $((max / 1024)) MiB while $((size / 1048576)) MiB waited on disk"
rel_verify "$G" 0 $((REL_WRITTEN - 1))
echo "PASS reliability_down"
