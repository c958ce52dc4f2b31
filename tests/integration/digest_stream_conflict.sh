#!/usr/bin/env bash
# digest_stream_conflict.sh: a file whose stream name ({file}) is the digest stream name of
# another file's stream (a.log.digest next to a.log, default digest.log_stream "{stream}.digest").
# Its entries go to the deterministic stream a.log.digest.data, with an error logged; a.log's
# digest records alone go to a.log.digest, each once, also across a restart (before: one stream
# had both roles, its digest records were never recognised as acknowledged and were sent again at
# every start). Every entry of both files arrives once. A static log_stream of that form is
# refused by the configuration check (test_config). Key-file digests, checking front; about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"

G=/hsm/digest-conflict
haf_write_config "digest:
  enabled: true
  interval_s: 2
  key_file: $T/key.pem
sources:
  - path: $T/audit/a.log*
    log_group: $G
    log_stream: \"{file}\"
    format: json"
HAF_REBOOT=5 haf_gen "$T/audit/a.log" 0 20
HAF_REBOOT=6 haf_gen "$T/audit/a.log.digest" 0 10
for run in 1 2; do
    haf_start
    sleep 4 # entries, then a digest or two
    haf_stop
done
python3 - "$T/record.jsonl" "$G" <<'PY' || haf_fail "streams, entries or digest records wrong"
import collections, json, sys
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["group"] == sys.argv[2]:
        by[r["stream"]].append(r["message"])
def pairs(stream):
    out = []
    for m in by[stream]:
        j = json.loads(m)
        assert "haf_digest" not in j, (stream, m[:80])
        out.append((j["reboot_counter"], j["sequence_no"]))
    return out
assert sorted(pairs("a.log")) == [(5, i) for i in range(20)], pairs("a.log")
assert sorted(pairs("a.log.digest.data")) == [(6, i) for i in range(10)], pairs("a.log.digest.data")
recs = [json.loads(m) for m in by["a.log.digest"]]
assert recs and all("haf_digest" in r and r["stream"] == "a.log" for r in recs), by["a.log.digest"][:3]
seqs = [r["seq"] for r in recs]
assert len(seqs) == len(set(seqs)), "digest records sent twice: %s" % seqs
assert set(by) == {"a.log", "a.log.digest", "a.log.digest.data", "a.log.digest.data.digest"}, set(by)
print("a.log 20, a.log.digest.data 10 entries; a.log.digest: %d digest records, each once" % len(seqs))
PY
[ $? -eq 0 ] || exit 1
haf_wait_log "error.*a.log.digest.* has the form of a digest stream name" 1 ||
    haf_fail "the conflict was not logged at error"
front_assert_clean
echo "PASS digest_stream_conflict"
