#!/usr/bin/env bash
# Reliability: credentials that expire every 60 s. The daemon takes its credentials from a local
# IMDSv2 (tests/tools/imds_server.py, --lifetime 60, new keys on every fetch) while a writer
# appends for REL_CREDS_SECONDS (default 75). The checking front verifies every request against
# the keys the IMDS handed out (imds_server.py --issued-file, cwl_front.py --credentials-file):
# the SigV4 signature with that key's secret, the session token issued with it, and its expiry
# (ExpiredTokenException after it). Deliveries must span several keys (refreshes), no request may
# use an unknown key or an expired one, and every entry arrives exactly once, by (reboot_counter,
# sequence_no), through the CloudWatch Logs API (read with credentials from the same IMDS) and
# the front's record.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
rel_setup creds
LIFETIME=${REL_CREDS_LIFETIME:-60}
DURATION=${REL_CREDS_SECONDS:-75}
RATE=40
G=/cloudhsm/reliability/creds

rel_imds_start "$LIFETIME"

rel_front_start --credentials-file "$T/issued.jsonl" --seed "${REL_SEED:-$RANDOM}"
rel_config "$G" "$T/audit/*.log" "{hostname}/hsm-creds"
haf_start
COUNT=$((RATE * DURATION))
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/hsm.log" --count "$COUNT" \
    --reboot "$HAF_REBOOT" --rate "$RATE" --chunk 4 >"$T/writer.out" 2>&1 ||
    rel_fail "the writer failed"
REL_WRITTEN=$COUNT
rel_wait_record 0 $((COUNT - 1)) 60 || rel_fail "not everything delivered exactly once"
haf_stop

keys=$(rel_front_stat 's["keys_used"]')
expired=$(rel_front_stat 's["expired_key_uses"]')
issued=$(wc -l <"$T/issued.jsonl")
REL_NOTE="credential lifetime ${LIFETIME} s; ${issued} keys issued, ${keys} used to sign accepted requests; uses after expiry: ${expired}"
echo "$REL_NOTE"
[ "$keys" -ge $((DURATION / LIFETIME + 1)) ] || rel_fail "deliveries did not span several credential refreshes"
[ "$expired" = 0 ] || rel_fail "the daemon signed $expired requests with expired credentials"
# boto3 (check_delivery.py) fetches its own keys from the same IMDS, so the front accepts it too.
rel_verify "$G" 0 $((COUNT - 1))
echo "PASS reliability_creds"
