#!/usr/bin/env bash
# bench_idle.sh: the daemon with nothing to do: CPU, wake-ups and memory over BENCH_SECONDS
# (default 60; BENCH_QUICK=1: 10).
#
# The daemon (as a service, not --once) follows a directory holding one small file, ships its 100
# entries to tests/bench/bench_sink.py, and is then left alone. Over the window: CPU from
# /proc/PID/schedstat (nanoseconds on CPU), wake-ups as voluntary context switches (each one is a
# return from poll: timers, since nothing else happens), and what woke it, from `strace -c`
# over the same window when strace is installed (system calls per second by name). Memory: VmRSS
# (what ps and /usr/bin/time call RSS, shared library pages included), RssAnon (private memory),
# RssFile (mapped files: mostly the pages of libcurl, OpenSSL and their dependencies) and Pss.
#
# Output: a markdown table on stdout (BENCH_SUMMARY=FILE: "key value" lines for run_all.sh).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/bench_lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    seconds=${BENCH_SECONDS:-10}
else
    seconds=${BENCH_SECONDS:-60}
fi

bench_build
bench_workdir
bench_sink_start
mkdir -p "$W/audit"
python3 "$BENCH_HERE/gen_audit.py" -n 100 -o "$W/audit/hsm.log" \
    --start-usecs $((($(date +%s) - 60) * 1000000))
bench_config "$W/haf.yaml" "$W/audit/*.log"

"$BIN" -c "$W/haf.yaml" 2>"$W/daemon.err" &
DPID=$!
BENCH_PIDS+=("$DPID")
for _ in $(seq 1 100); do
    got=$(bench_sink_get stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["events"])')
    [ "$got" -ge 100 ] && break
    sleep 0.1
done
[ "$got" -eq 100 ] || { echo "bench: the daemon shipped $got of 100 entries" >&2; exit 1; }
sleep 2 # the acknowledgement is checkpointed; the daemon is idle from here on

ns0=$(awk '{print $1}' "/proc/$DPID/schedstat")
cs0=$(bench_proc_status "$DPID" voluntary_ctxt_switches)
ics0=$(bench_proc_status "$DPID" nonvoluntary_ctxt_switches)
t0=$EPOCHREALTIME
sleep "$seconds"
t1=$EPOCHREALTIME
ns1=$(awk '{print $1}' "/proc/$DPID/schedstat")
cs1=$(bench_proc_status "$DPID" voluntary_ctxt_switches)
ics1=$(bench_proc_status "$DPID" nonvoluntary_ctxt_switches)
# Then what the wake-ups were, in a second window (tracing itself adds context switches, so it
# is not overlapped with the counting above).
strace_s=$((seconds < 20 ? seconds : 20))
if command -v strace >/dev/null; then
    timeout -s INT "$strace_s" strace -c -p "$DPID" -o "$W/strace.txt" 2>/dev/null || true
fi
rss=$(bench_proc_status "$DPID" VmRSS)
anon=$(bench_proc_status "$DPID" RssAnon)
file=$(bench_proc_status "$DPID" RssFile)
pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$DPID/smaps_rollup")
kill -TERM "$DPID"
wait "$DPID" || { echo "bench: the daemon did not stop cleanly" >&2; exit 1; }

calls=""
if [ -s "$W/strace.txt" ]; then
    calls=$(awk -v t="$strace_s" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
        printf "%s%s %.2f/s", sep, $NF, $4 / t; sep = ", " }' "$W/strace.txt")
fi
awk -v ns0="$ns0" -v ns1="$ns1" -v cs0="$cs0" -v cs1="$cs1" -v ics0="$ics0" -v ics1="$ics1" \
    -v t0="$t0" -v t1="$t1" -v rss="$rss" -v anon="$anon" -v file="$file" -v pss="$pss" \
    -v calls="$calls" -v strace_s="$strace_s" -v summary="${BENCH_SUMMARY:-}" 'BEGIN {
    t = t1 - t0
    print "#### Idle daemon (" sprintf("%.0f", t) " s, after shipping a 100-entry file)"
    print ""
    print "| CPU (% of a core) | CPU ms per minute | wake-ups/s | involuntary switches | RSS MiB | private (anon) MiB | file-backed MiB | PSS MiB |"
    print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf "| %.4f | %.2f | %.2f | %d | %.1f | %.1f | %.1f | %.1f |\n", (ns1 - ns0) / 1e9 / t * 100,
        (ns1 - ns0) / 1e6 / t * 60, (cs1 - cs0) / t, ics1 - ics0, rss / 1024, anon / 1024, file / 1024, pss / 1024
    print ""
    if (summary != "")
        printf "idle_cpu_pct %.4f\nidle_wakeups %.2f\nidle_rss_mib %.1f\nidle_anon_mib %.1f\nidle_file_mib %.1f\n",
            (ns1 - ns0) / 1e9 / t * 100, (cs1 - cs0) / t, rss / 1024, anon / 1024, file / 1024 >> summary
    if (calls != "") print "System calls while idle (strace -c, " strace_s " s): " calls "."
}'
echo "Machine: $(bench_machine)."
