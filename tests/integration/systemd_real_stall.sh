#!/usr/bin/env bash
# systemd_real_stall: the event loop never blocks, under a REAL systemd (tests/tools/real_systemd.sh)
# with WatchdogSec=10 in a drop-in. The project's unit, installed as the package would, has two
# sources (fast*.log and slow*.log, one stream each) shipping to the checking front
# (tests/tools/cwl_front.py, recording every accepted event with its arrival time) and takes its
# credentials from a local IMDS (tests/tools/imds_server.py, 110 s credentials, so the refresh falls
# due ~55 s after the start). Both run in this test's own network namespace, shared with the
# container. Timeline: the fast file is written from the start (20 entries/s); shortly before the
# refresh, the slow file appears (10 entries/s) and the front holds the slow stream's
# CreateLogStream for 45 s; 2 s later the IMDS holds every credentials request for 45 s, so both
# stalls overlap. Checked:
#   no "Watchdog timeout" in the journal, NRestarts=0 and the same MainPID throughout, and
#   systemd's WatchdogTimestampMonotonic (sampled every second) never older than 10 s;
#   the slow stream's CreateLogStream really was held (its first event arrives >= 43 s after the
#   file appeared) and the IMDS really was asked during its stall, and the refresh happened;
#   the fast stream keeps shipping through both stalls (arrival times from the front's record:
#   no gap over 5 s);
#   every entry of both streams arrives exactly once (tests/reliability/count_record.py over the
#   record), no request is invalid or signed with expired keys, and all of it within 3 minutes;
#   `systemctl stop`: inactive, Result=success.
# Needs root; skips (77) exactly where systemd_real does (rs_check). Takes about 2 minutes.
set -uo pipefail
src=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -x "${HAF_BIN:-}" ] || { echo "HAF_BIN is not an executable: ${HAF_BIN:-unset}"; exit 1; }
source "$src/tests/tools/real_systemd.sh"
rs_check || exit 77

# A private network namespace for this test: the front, the IMDS and the container share it.
if [ -z "${HAF_RS_NETNS:-}" ]; then
    HAF_RS_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up || { echo "cannot bring up lo in the new network namespace"; exit 1; }

STALL=45
LIFETIME=110
FAST_RATE=20
FAST_N=$((FAST_RATE * 115))
SLOW_RATE=10
SLOW_N=$((SLOW_RATE * 55))
REBOOT=263
SVC=hsm-audit-forwarder.service
AUDIT=/var/log/cloudhsm/audit
G=/cloudhsm/systemd-real-stall
T=$(mktemp -d)
BG_PIDS=()
rs_extra_cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    [ "${RS_KEEP:-0}" = 1 ] && rs_say "work directory kept: $T" || rm -rf "$T"
    return 0
}
trap rs_extra_cleanup EXIT
export RS_NET=inherit RS_DEADLINE=${RS_DEADLINE:-240}

# ---- the front and the IMDS (this network namespace, 127.0.0.1) ----------------------------------
python3 "$src/tests/tools/imds_server.py" --lifetime "$LIFETIME" --region us-east-1 \
    --issued-file "$T/issued.jsonl" >"$T/imds.out" 2>&1 &
BG_PIDS+=($!)
python3 "$src/tests/tools/cwl_front.py" --mode store --port-file "$T/front.port" \
    --record "$T/record.jsonl" --credentials-file "$T/issued.jsonl" --max-seconds 300 \
    >"$T/front.out" 2>"$T/front.log" &
BG_PIDS+=($!)
for _ in $(seq 100); do
    [ -s "$T/front.port" ] && grep -q '^PORT ' "$T/imds.out" 2>/dev/null && break
    sleep 0.1
done
IMDS="http://127.0.0.1:$(awk '/^PORT/ {print $2}' "$T/imds.out")"
FRONT="http://127.0.0.1:$(cat "$T/front.port" 2>/dev/null)"
[ -s "$T/front.port" ] && [ "$IMDS" != "http://127.0.0.1:" ] ||
    { echo "the front or the IMDS did not start: $(cat "$T/front.log" "$T/imds.out")"; exit 1; }
front_stat() { curl -s --max-time 5 "$FRONT/_front/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

rs_boot || exit 1

cat >"$T/haf.yaml" <<YAML
region: us-east-1
endpoint: $FRONT
state_dir: /var/lib/hsm-audit-forwarder
create_log_group: true
batch:
  max_events: 100
  flush_interval_ms: 200
sources:
  - path: $AUDIT/fast*.log
    log_group: $G
    log_stream: "{file}"
  - path: $AUDIT/slow*.log
    log_group: $G
    log_stream: "{file}"
YAML
# No keys anywhere: the IMDS is the only credential source.
printf 'AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/\n' "$IMDS" >"$T/env"
if "$HAF_BIN" --version 2>/dev/null | grep -q 'Sanitizer'; then
    echo 'ASAN_OPTIONS=detect_leaks=0' >>"$T/env" # see systemd_real.sh
    rs_say "sanitizer build: detect_leaks=0 in the service's environment"
fi
rs_install_service "$HAF_BIN" "$src/systemd/hsm-audit-forwarder.service" "$T/haf.yaml" "$T/env" ||
    { rs_bad "install"; exit 1; }
mkdir -p "$RS_ROOT$AUDIT" "$RS_ROOT/run/systemd/system/$SVC.d"
printf '[Service]\nWatchdogSec=10s\n' >"$RS_ROOT/run/systemd/system/$SVC.d/wd.conf"
sctl daemon-reload

# ---- start: the fast stream ships ----------------------------------------------------------------
python3 "$src/tests/tools/audit_writer.py" --path "$RS_ROOT$AUDIT/fast.log" --count "$FAST_N" \
    --reboot "$REBOOT" --rate "$FAST_RATE" --chunk 2 >"$T/writer-fast.out" 2>&1 &
BG_PIDS+=($!)
t0=$(date +%s)
TMO=60 cx systemctl start "$SVC" && [ "$(sctl is-active "$SVC")" = active ] ||
    { rs_bad "start ($(sctl is-active "$SVC"))"; rs_jnl "$SVC" | tail -n 30; exit 1; }
MP=$(rs_show "$SVC" MainPID)
rs_ok "start: active, MainPID $MP"
[ "$(rs_show "$SVC" WatchdogUSec)" = 10s ] && rs_ok "the drop-in is in force: WatchdogUSec=10s" ||
    rs_bad "WatchdogUSec=$(rs_show "$SVC" WatchdogUSec) (drop-in WatchdogSec=10s)"
# systemd's view of the watchdog, every second: epoch, WatchdogTimestampMonotonic, MainPID, NRestarts.
(while :; do
    echo "$(date +%s.%N) $(sctl show "$SVC" -p WatchdogTimestampMonotonic -p MainPID -p NRestarts --value | tr '\n' ' ')"
    sleep 1
done >"$T/wd.log" 2>/dev/null) &
BG_PIDS+=($!)
issued() { [ -s "$T/issued.jsonl" ]; }
rs_wait 20 issued || { rs_bad "the service never asked the IMDS for credentials"; rs_jnl "$SVC" | tail -n 30; exit 1; }
first_exp=$(head -n 1 "$T/issued.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Expiration"])')
imds_at=$((first_exp - LIFETIME / 2 - 3))
slow_at=$((imds_at - 2))

# ---- the stalls: the slow stream's CreateLogStream, then the IMDS, 45 s each -------------------
now=$(date +%s)
[ "$slow_at" -gt "$now" ] && sleep $((slow_at - now))
t_slow=$(date +%s)
curl -s --max-time 5 -X POST --data \
    "{\"stream\": \"slow\", \"stall_ops\": [\"CreateLogStream\"], \"stall_until\": $((t_slow + STALL))}" \
    "$FRONT/_front/targeted" >/dev/null || rs_bad "cannot set the front's targeted stall"
python3 "$src/tests/tools/audit_writer.py" --path "$RS_ROOT$AUDIT/slow.log" --count "$SLOW_N" \
    --first "$FAST_N" --reboot "$REBOOT" --rate "$SLOW_RATE" --chunk 2 >"$T/writer-slow.out" 2>&1 &
BG_PIDS+=($!)
now=$(date +%s)
[ "$imds_at" -gt "$now" ] && sleep $((imds_at - now))
t_imds=$(date +%s)
curl -s --max-time 5 "$IMDS/_stall/$STALL" >/dev/null || rs_bad "cannot stall the IMDS"
t_end=$((t_imds + STALL))
rs_say "slow.log appears, its CreateLogStream held from $((t_slow - t0)) s; IMDS held from $((t_imds - t0)) s to $((t_end - t0)) s (first credentials expire at $((first_exp - t0)) s)"

# ---- every entry exactly once -------------------------------------------------------------------
count() {
    python3 "$src/tests/reliability/count_record.py" --record "$T/record.jsonl" --reboot "$REBOOT" \
        --first 0 --last $((FAST_N + SLOW_N - 1))
}
all_there() { count >"$T/count.out"; }
if rs_wait $((t0 + 165 - $(date +%s))) all_there; then
    rs_ok "every entry arrived exactly once: $(cat "$T/count.out") ($((FAST_N + SLOW_N)) written)"
else
    rs_bad "not everything arrived exactly once: $(cat "$T/count.out")"
    rs_jnl "$SVC" "$t0" | grep -v ' debug ' | tail -n 30
fi

# ---- systemd's verdict ---------------------------------------------------------------------------
wdj=$(cx journalctl -b --no-pager -o cat -u "$SVC" --since=@"$t0" | grep 'Watchdog timeout')
[ -z "$wdj" ] && rs_ok "no 'Watchdog timeout' in the journal" || rs_bad "the watchdog fired: $wdj"
nr=$(rs_show "$SVC" NRestarts)
mp=$(rs_show "$SVC" MainPID)
[ "$nr" = 0 ] && [ "$mp" = "$MP" ] && [ "$(sctl is-active "$SVC")" = active ] &&
    rs_ok "NRestarts=0, same MainPID $MP, active" || rs_bad "NRestarts=$nr, MainPID $MP -> $mp"
verdict=$(python3 - "$T/wd.log" "$T/record.jsonl" "$MP" "$t_slow" "$t_end" "$STALL" <<'PY'
import json, sys
wd, rec, mp, t_slow, t_end, stall = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
bad = []
# systemd's last-ping time, as sampled: each distinct value is one WATCHDOG=1 it received.
rows = [l.split() for l in open(wd)]
rows = [r for r in rows if len(r) == 4]
pings = sorted({int(r[1]) for r in rows if t_slow <= float(r[0]) <= t_end + 5 and r[1] != "0"})
wd_gap = max([(b - a) / 1e6 for a, b in zip(pings, pings[1:])] or [float("inf")])
pids = {r[2] for r in rows if r[2] != "0"}
if len(pings) < stall / 5 - 1 or wd_gap > 10.0:
    bad.append("watchdog pings seen during the stalls: %d, max gap %.1f s" % (len(pings), wd_gap))
if pids != {mp} or {r[3] for r in rows} != {"0"}:
    bad.append("MainPID/NRestarts changed: %s %s" % (sorted(pids), sorted({r[3] for r in rows})))
fast, slow = [], []
for l in open(rec):
    e = json.loads(l)
    (fast if e["stream"].startswith("fast") else slow).append(e["arrived"] / 1000.0)
grew = sorted(t for t in set(fast) if t_slow + 3 <= t <= t_end)
edges = [t_slow + 3] + grew + [t_end]
fast_gap = max(b - a for a, b in zip(edges, edges[1:]))
if len(grew) < 20 or fast_gap > 5.0:
    bad.append("fast stream during the stalls: %d arrivals, max gap %.1f s" % (len(grew), fast_gap))
slow_first = min(slow) - t_slow if slow else float("inf")
if slow_first < stall - 2:
    bad.append("the slow stream shipped %.1f s after its file appeared (CreateLogStream held %d s)" % (slow_first, stall))
print("%s; watchdog pings %d during the stalls, max gap %.1f s; fast stream %d arrivals, max gap %.1f s; slow stream's first event after %.1f s" % (
    "FAIL " + "; ".join(bad) if bad else "ok", len(pings), wd_gap, len(grew), fast_gap, slow_first))
PY
)
case "$verdict" in ok*) rs_ok "${verdict#ok; }" ;; *) rs_bad "$verdict" ;; esac

imds_held=$(curl -s --max-time 5 "$IMDS/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stalled"])')
[ "${imds_held:-0}" -gt 0 ] && rs_ok "$imds_held credentials requests reached the stalled IMDS" ||
    rs_bad "no credentials request reached the stalled IMDS"
held=$(front_stat 's["stalled"]')
[ "${held:-0}" -gt 0 ] && rs_ok "$held requests held at the front" || rs_bad "no request held at the front"
keys=$(front_stat 's["keys_used"]')
expired=$(front_stat 's["expired_key_uses"]')
viol=$(front_stat 's["violation_count"]')
[ "${keys:-0}" -ge 2 ] && [ "$expired" = 0 ] && rs_ok "credentials refreshed ($keys keys used), none used after expiry" ||
    rs_bad "keys used $keys, uses after expiry $expired"
[ "$viol" = 0 ] && rs_ok "no invalid request at the front" || rs_bad "$viol invalid requests: $(front_stat 's["violations"][:3]')"

# ---- stop ----------------------------------------------------------------------------------------
TMO=100 cx systemctl stop "$SVC"
rc=$?
res=$(rs_show "$SVC" Result)
[ $rc = 0 ] && [ "$(sctl is-active "$SVC")" = inactive ] && [ "$res" = success ] &&
    rs_ok "stop: inactive, Result=success" || rs_bad "stop (rc $rc, Result=$res)"
took=$(($(date +%s) - RS_T0))
[ "$took" -lt 180 ] && rs_ok "the whole scenario took $took s (< 3 minutes)" || rs_bad "took $took s (limit 180)"
exit 0
