#!/usr/bin/env bash
# digest_sign_fail_full.sh: with signing failing (the KMS endpoint refuses connections) and a
# chain's accumulator full, the acknowledged events that cannot be added to the digest are
# reported at a bounded rate (once per sign back-off, with their count), not one error line per
# event (before: 300 events, 300 lines). Delivery goes on: every entry arrives exactly once.
# The full accumulator is crafted in the state file (DIGEST_MAX_LATE late leaves, digest.h).
# Checking front; bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start --record "$T/record.jsonl"
# A loopback port nobody listens on: kms:Sign fails at once (connection refused).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$port"

G=/hsm/digest-full
haf_config "$G" "{file}" "digest:
  enabled: true
  interval_s: 2
  kms_key_id: alias/hsm-audit-digests"
haf_gen "$T/audit/a.log" 0 10
haf_start
haf_wait_exact "$G" 0 9 20 >/dev/null || haf_fail "first run did not deliver 0..9"
haf_stop
python3 - "$T/state/state.json" <<'PY' || haf_fail "no digest chain to craft"
import json, sys
p = sys.argv[1]
s = json.load(open(p))
st = [x for x in s["streams"] if x["stream"] == "a.log"][0]
d = st["digest"]
d["after"] = 1000
d["leaves"] = [[500 + i, "%064x" % i] for i in range(256)]
json.dump(s, open(p, "w"))
PY
: >"$T/daemon.log"
haf_gen "$T/audit/a.log" 10 300
haf_start
haf_wait_exact "$G" 0 309 30 >/dev/null || haf_fail "entries not delivered while signing fails"
haf_stop
n=$(grep -c "could not be added to the digest" "$T/daemon.log")
echo "lines about events not added to the digest: $n"
[ "$n" -ge 1 ] || haf_fail "the events not added to the digest were not reported"
[ "$n" -le 4 ] || haf_fail "$n lines for 300 events: not rate-limited"
total=$(grep -o "[0-9]* acknowledged events could not be added" "$T/daemon.log" | awk '{s += $1} END {print s}')
[ "$total" = 300 ] || haf_fail "the lines count $total events, not 300"
front_assert_clean
echo "PASS digest_sign_fail_full"
