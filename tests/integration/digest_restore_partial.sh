#!/usr/bin/env bash
# digest_restore_partial.sh: restoring a digest chain from the state file is all or nothing.
# A run with a key-file digest leaves a chain in the state file; its entry is then crafted so that
# its first pending record is well-formed and its second is not. At the next start the chain is
# reported damaged and a new chain starts, and nothing of the damaged entry is sent (before: the
# first pending record was queued before the second was found bad, and was delivered into the
# digest stream of the new chain). Checking front; bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"

G=/hsm/digest-restore
haf_config "$G" "{file}" "digest:
  enabled: true
  interval_s: 2
  key_file: $T/key.pem"
haf_gen "$T/audit/a.log" 0 10
haf_start
haf_wait_delivered "$G" 0 9 20 >/dev/null || haf_fail "first run did not deliver 0..9"
haf_stop
python3 - "$T/state/state.json" <<'PY' || haf_fail "no digest chain to craft"
import json, sys, time
p = sys.argv[1]
s = json.load(open(p))
st = [x for x in s["streams"] if x["stream"] == "a.log"][0]
now = int(time.time() * 1000)
st["digest"]["pending"] = [[now, "haf-probe-pending-record"], [now, 42]]
json.dump(s, open(p, "w"))
PY
haf_gen "$T/audit/a.log" 10 5
haf_start
haf_wait_delivered "$G" 0 14 20 >/dev/null || haf_fail "second run did not deliver 10..14"
haf_wait_log "digest $G/a.log: the chain in the state file is damaged" 5 ||
    haf_fail "the damaged chain was not reported"
sleep 3 # a digest of the new chain, and whatever was queued, is delivered
haf_stop
grep -q "haf-probe-pending-record" "$T/record.jsonl" &&
    haf_fail "a pending record of the damaged chain entry was delivered"
grep -q '"stream":"a.log.digest"' "$T/record.jsonl" || haf_fail "no digest records at all"
grep -q "haf-probe-pending-record" "$T/state/state.json" &&
    haf_fail "a pending record of the damaged chain entry is still in the state"
front_assert_clean
echo "PASS digest_restore_partial"
