#!/usr/bin/env bash
# Checks first run and restart against moto_server with IAM auth on: the daemon ships every entry of
# an existing file, is stopped with SIGTERM (exit 0, state saved), more entries are appended while
# it is down, and after a restart exactly the new entries are shipped: nothing lost, nothing twice.
# The result is read back with the real AWS CLI as well as checked by (reboot_counter, sequence_no).
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
haf_setup
moto_start || exit $?

G=/cloudhsm/restart
haf_gen "$T/audit/hsm.log" 0 300
haf_config "$G"
haf_start
haf_wait_delivered "$G" 0 299 30 || haf_fail "first run did not deliver 0..299 exactly once"
haf_stop
grep -q '"inflight": false' "$T/state/state.json" || haf_fail "state not saved as idle at stop"

haf_gen "$T/audit/hsm.log" 300 200
haf_start
haf_wait_delivered "$G" 0 499 30 || haf_fail "restart did not deliver 300..499 exactly once"
grep -q "resuming at byte" "$T/daemon.log" || haf_fail "restart did not resume from the checkpoint"
haf_stop

# The real AWS CLI sees the same: 500 events in the stream, sequence 299 and 300 (either side of
# the restart) exactly once each.
moto_aws logs get-log-events --log-group-name "$G" --log-stream-name hsm.log --start-from-head \
    --query 'events[].message' --output json >"$T/cli.json" || haf_fail "AWS CLI read-back failed"
python3 - "$T/cli.json" <<'PY' || haf_fail "AWS CLI read-back does not hold 0..499 exactly once"
import collections, json, sys
seqs = collections.Counter(json.loads(m)["sequence_no"] for m in json.load(open(sys.argv[1])))
assert len(seqs) == 500 and set(seqs) == set(range(500)) and max(seqs.values()) == 1, seqs
PY
echo "PASS daemon_restart"
