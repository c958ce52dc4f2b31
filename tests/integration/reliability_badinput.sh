#!/usr/bin/env bash
# Reliability: a bad-input corpus (tests/reliability/make_corpus.py): binary garbage, invalid
# UTF-8, NULs, 10 MB lines, truncated entries (the last cut mid-line at EOF), entries with every
# optional field, CRLF and stray CRs, entries whose JSON passes the 1 MiB event limit (shipped in
# parts), and thousands of files matching one glob (REL_MANY_FILES, default 2,000: 10,000 files in
# one stream take the daemon over 4 minutes today, see tests/reliability/RESULTS.md). Every entry of every corpus file must be forwarded
# exactly once and exactly as the daemon's own `parse` renders it (flagged with parse_error and
# its raw text when it could not be parsed), compared per stream (check_corpus.py); the entries
# that carry a (reboot_counter, sequence_no), the 10,000 files' included, arrive exactly once
# through the CloudWatch Logs API and the front's record; no request breaks a CloudWatch rule
# and the daemon stays up.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup badinput
MANY=${REL_MANY_FILES:-2000}
G=/cloudhsm/reliability/badinput

mkdir -p "$T/corpus"
LAST=$(python3 "$REL_DIR/make_corpus.py" "$T/corpus" --many "$MANY" --reboot "$HAF_REBOOT" |
    awk '/^LAST/ {print $2}')
[ -n "$LAST" ] || rel_fail "make_corpus.py failed"
REL_WRITTEN=$((LAST + 1))
rel_front_start --seed "${REL_SEED:-$RANDOM}"
# The corpus files are one stream each; the many files are one HSM's files in one stream.
rel_config "$G" "$T/corpus/*.log" "{file}"
cat >>"$T/haf.yaml" <<YAML
  - path: $T/corpus/many/*.log
    log_group: $G
    log_stream: "${REL_MANY_STREAM:-many}"
    format: json
YAML
haf_start
rel_wait_record 0 "$LAST" 240 || rel_fail "not every identifiable entry delivered exactly once"
# The last entry of truncated.log ends mid-line: it ships after the idle grace (5 s).
sleep 6
kill -0 "$HAF_PID" || rel_fail "the daemon died on bad input"
haf_stop
python3 "$REL_DIR/check_corpus.py" --record "$T/record.jsonl" --bin "$HAF_BIN" --group "$G" \
    "$T"/corpus/*.log >"$T/corpus.out" 2>&1
rc=$?
cat "$T/corpus.out"
[ "$rc" = 0 ] || rel_fail "a corpus file was not forwarded exactly as parsed"
counts=$(grep -o 'flagged=[0-9]* .*invalid_utf8=[0-9]* nul_bytes=[0-9]* cut_lines=[0-9]*' \
    "$T/daemon.log" | tail -n 1 | sed 's/queued.*split_parts/split_parts/')
REL_NOTE="$(grep -c '^ok' "$T/corpus.out") corpus files forwarded as parsed, $MANY files in one glob; daemon counters: $counts"
echo "$REL_NOTE"
rel_verify "$G" 0 "$LAST"
echo "PASS reliability_badinput"
