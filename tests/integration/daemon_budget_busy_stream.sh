#!/usr/bin/env bash
# daemon_budget_busy_stream.sh: the batch memory budget is shared by the streams that need it,
# not by every stream the daemon knows. Four files (four data streams) with signed digests on
# (four digest streams besides) each get one entry, which the daemon ships; a second later, when
# those streams are idle, one file gets a backlog of 30,000 entries: that busy stream has the whole
# 2 MiB budget and must ship requests of more than 1,000 events (half the budget per batch, ~700
# bytes of body and record per entry; ~1,460 measured). When every stream counted for a share
# (digest streams included) its requests held at most ~180 events. Every entry must arrive
# exactly once (hsm0.log jumps from sequence number 0 to 4: one gap marker, expected).
# Bounded: about 20 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/budget-busy
for i in 0 1 2 3; do
    haf_gen "$T/audit/hsm$i.log" "$i" 1
done
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"
haf_config "$G" "{file}" "digest:
  enabled: true
  key_file: $T/key.pem
  log_group: /cloudhsm/budget-busy-digests"
haf_start
out=$(haf_wait_exact "$G" 0 3 20) || { echo "$out"; haf_fail "the first four entries"; }
sleep 1 # the four streams idle: none of them needs a share now
haf_gen "$T/audit/hsm0.log" 4 30000
out=$(haf_wait_exact "$G" 0 30003 40) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
most=$(front_stat 's["max_events_in_request"]')
puts=$(front_stat 's["requests_by_op"].get("PutLogEvents", 0)')
echo "PutLogEvents: $puts; most events in one request: $most"
haf_stop
[ "$most" -gt 1000 ] || haf_fail "the busy stream's requests held at most $most events"
front_assert_clean
echo "PASS daemon_budget_busy_stream"
