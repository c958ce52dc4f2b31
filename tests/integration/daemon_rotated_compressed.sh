#!/usr/bin/env bash
# daemon_rotated_compressed.sh: rotations while the service is down, with compressed rotations in
# the directory, against the checking front.
# Ship a.log (glob *.log); stop; the writer appends; a.log is renamed to a.log.1, a new a.log is
# written and renamed to a.log-20261207 (a plain rotation no checkpoint knows), a third a.log
# starts; meanwhile a compressor left a.log.2.gz (gzip of entries, mtime newer than a.log.1) and
# a.log.3 (gzip bytes without a suffix). Start: every entry of the plain files arrives once, in
# order, in stream a.log, nothing else (before: the gzip bytes of both were adopted as successors
# and shipped as garbage entries), and the daemon says it skipped the two compressed files.
# Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
export HAF_REBOOT=5

G=/cloudhsm/rotated-compressed
haf_config "$G" "{file}"
haf_gen "$T/audit/a.log" 0 100
haf_start
haf_wait_exact "$G" 0 99 20 >/dev/null || haf_fail "first 100 entries not delivered"
haf_stop
haf_gen "$T/audit/a.log" 100 300
mv "$T/audit/a.log" "$T/audit/a.log.1"
haf_gen "$T/audit/a.log" 400 50
mv "$T/audit/a.log" "$T/audit/a.log-20261207"
haf_gen "$T/audit/a.log" 450 50
haf_gen "$T/gz.txt" 1000 20
gzip -c "$T/gz.txt" >"$T/audit/a.log.2.gz"
gzip -c "$T/gz.txt" >"$T/audit/a.log.3"
touch -d '+1 minute' "$T/audit/a.log.2.gz" "$T/audit/a.log.3"
haf_start
out=$(haf_wait_exact "$G" 0 499 20) || { echo "$out"; haf_fail "entries lost, duplicated or extra"; }
echo "$out"
haf_wait_log "a.log.2.gz: a compressed rotation, not a continuation: not read" 5 ||
    haf_fail "the compressed rotation a.log.2.gz was not skipped"
haf_wait_log "a.log.3: a compressed rotation, not a continuation: not read" 5 ||
    haf_fail "the compressed file a.log.3 (gzip magic) was not skipped"
sleep 1
haf_stop
python3 "$HAF_SOURCE_DIR/tests/tools/record_order.py" --record "$T/record.jsonl" --group "$G" \
    --streams a.log --entries 500 || haf_fail "order, stream or extra events wrong"
front_assert_clean
echo "PASS daemon_rotated_compressed"
