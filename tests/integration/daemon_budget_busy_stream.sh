#!/usr/bin/env bash
# daemon_budget_busy_stream.sh: the batch memory budget is shared by the streams that need it,
# not by every stream the daemon knows. One file with a backlog of 30,000 entries and three files
# of one entry each (four data streams), with signed digests on (four digest streams besides):
# once the three small streams are delivered, the busy stream has the whole 2 MiB budget and must
# ship requests of more than 1,000 events (half the budget per batch, ~700 bytes of body and
# record per entry; 77 requests in all). When every stream counted for a share (digest streams
# included), its requests held at most ~370 events (180 requests). Every entry must arrive exactly
# once (`--once`, exit 0).
# Bounded: about 15 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/budget-busy
haf_gen "$T/audit/hsm0.log" 0 30000
for i in 1 2 3; do
    haf_gen "$T/audit/hsm$i.log" $((30000 + i - 1)) 1
done
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"
haf_config "$G" "{file}" "digest:
  enabled: true
  key_file: $T/key.pem
  log_group: /cloudhsm/budget-busy-digests"
t0=$SECONDS
timeout 60 "$HAF_BIN" --once -c "$T/haf.yaml" >>"$T/daemon.out" 2>>"$T/daemon.log"
rc=$?
echo "--once: exit $rc after $((SECONDS - t0)) s"
[ "$rc" = 0 ] || { tail -n 20 "$T/daemon.log"; haf_fail "--once exited $rc"; }
out=$(haf_wait_exact "$G" 0 30002 20) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
most=$(front_stat 's["max_events_in_request"]')
puts=$(front_stat 's["requests_by_op"].get("PutLogEvents", 0)')
echo "PutLogEvents: $puts; most events in one request: $most"
[ "$most" -gt 1000 ] || haf_fail "the busy stream's requests held at most $most events"
front_assert_clean
echo "PASS daemon_budget_busy_stream"
