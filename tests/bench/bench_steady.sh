#!/usr/bin/env bash
# bench_steady.sh: the daemon in steady state: BENCH_RATE entries/s (default 1,000) appended to a
# followed file for BENCH_SECONDS (default 60): the daemon's CPU (% of one core), its RSS, and the
# delivery latency of every entry, from being written to being acknowledged, p50/p90/p99/max.
#
# The daemon runs as a service would (not --once) with the default batch settings
# (flush_interval_ms 1000), against tests/bench/bench_sink.py --latency. steady_writer.py stamps
# each entry with its write time (usecs), and the sink records, for every event, the time its
# PutLogEvents answer was written minus that usecs; both clocks are this machine's CLOCK_REALTIME.
# Every entry must arrive exactly once. CPU is read from /proc/PID/stat over the writing window
# (it includes the daemon's own timers), RSS from /proc/PID/status at the end (VmRSS, VmHWM, and the
# private anonymous part RssAnon).
#
# Output: a markdown table on stdout. Environment: BENCH_RATE, BENCH_SECONDS, BENCH_QUICK=1
# (15 s), BENCH_KEEP=1, BENCH_SUMMARY=FILE ("key value" lines for run_all.sh), BENCH_DIGEST=1
# (signed digests on; their records are not counted as entries).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/bench_lib.sh"

rate=${BENCH_RATE:-1000}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    seconds=${BENCH_SECONDS:-15}
else
    seconds=${BENCH_SECONDS:-60}
fi
total=$((rate * seconds))

bench_build
bench_workdir
bench_sink_start --latency
mkdir -p "$W/audit"
: >"$W/audit/hsm.log"
bench_config "$W/haf.yaml" "$W/audit/*.log"

# State saves: the daemon runs under strace with a seccomp filter, so only fsync and rename stop
# it (the other system calls run at full speed); BENCH_STRACE=0 runs it bare.
if [ "${BENCH_STRACE:-1}" = 1 ] && command -v strace >/dev/null; then
    strace -f --seccomp-bpf -e trace=fsync,fdatasync,rename,renameat,renameat2 -c \
        -o "$W/strace.txt" "$BIN" -c "$W/haf.yaml" 2>"$W/daemon.err" &
    SPID=$!
    BENCH_PIDS+=("$SPID")
    for _ in $(seq 1 100); do
        DPID=$(pgrep -P "$SPID" | head -1) && [ -n "$DPID" ] && break
        sleep 0.05
    done
else
    "$BIN" -c "$W/haf.yaml" 2>"$W/daemon.err" &
    DPID=$!
    SPID=$DPID
fi
BENCH_PIDS+=("$DPID")
for _ in $(seq 1 100); do
    grep -q "watching" "$W/daemon.err" 2>/dev/null && break
    sleep 0.05
done
sleep 1
bench_sink_reset

cpu0=$(bench_proc_cpu "$DPID")
t0=$EPOCHREALTIME
python3 "$BENCH_HERE/steady_writer.py" --path "$W/audit/hsm.log" --rate "$rate" \
    --seconds "$seconds" >"$W/writer.out"
t1=$EPOCHREALTIME
cpu1=$(bench_proc_cpu "$DPID")
# Everything written must arrive (the last batch goes at most one flush interval later).
for _ in $(seq 1 100); do
    got=$(bench_sink_get stats | python3 -c 'import json, sys
print(sum(v for k, v in json.load(sys.stdin)["stream_events"].items() if not k.endswith(".digest")))')
    [ "$got" -ge "$total" ] && break
    sleep 0.1
done
rss=$(bench_proc_status "$DPID" VmRSS)
hwm=$(bench_proc_status "$DPID" VmHWM)
anon=$(bench_proc_status "$DPID" RssAnon)
bench_sink_get latency >"$W/latency.json"
bench_sink_get stats >"$W/stats.json"
kill -TERM "$DPID"
wait "$SPID" || { echo "bench: the daemon did not stop cleanly" >&2; tail -n 20 "$W/daemon.err" >&2; exit 1; }
fsyncs=$(awk '$NF == "fsync" || $NF == "fdatasync" {n += $4} END {print n + 0}' "$W/strace.txt" 2>/dev/null || echo "")
renames=$(awk '$NF ~ /^rename/ {n += $4} END {print n + 0}' "$W/strace.txt" 2>/dev/null || echo "")

python3 - "$W/latency.json" "$W/stats.json" "$total" "$rate" "$seconds" "$cpu0" "$cpu1" "$t0" \
    "$t1" "$rss" "$hwm" "$anon" "${fsyncs:-}" "${renames:-}" <<'PY'
import json, os, sys
lat = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
total, rate, seconds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cpu0, cpu1, t0, t1 = map(float, sys.argv[6:10])
rss, hwm, anon = (int(x) / 1024 for x in sys.argv[10:13])
if lat["count"] != total or lat["unique"] != total or lat["duplicates"]:
    sys.exit("bench: %d of %d entries arrived (%d unique, %d duplicates)"
             % (lat["count"], total, lat["unique"], lat["duplicates"]))
if st["violations"]:
    sys.exit("bench: sink violations: %s" % st["violation_samples"][:3])
cpu = (cpu1 - cpu0) / (t1 - t0) * 100
reqs = st["requests_by_op"].get("PutLogEvents", 0)
print("#### Steady state: %d entries/s for %d s, flush_interval_ms 1000" % (rate, seconds))
print()
print("| entries | daemon CPU (% of a core) | CPU-s per 1M entries | RSS MiB (peak) | private (anon) MiB"
      " | PutLogEvents | latency p50 ms | p90 ms | p99 ms | max ms | sink CPU % |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print("| %d | %.2f | %.2f | %.1f (%.1f) | %.1f | %d | %.0f | %.0f | %.0f | %.0f | %.2f |"
      % (total, cpu, (cpu1 - cpu0) / total * 1e6, rss, hwm, anon, reqs, lat["p50_ms"],
         lat["p90_ms"], lat["p99_ms"], lat["max_ms"], st["cpu_seconds"] / (t1 - t0) * 100))
if os.environ.get("BENCH_SUMMARY"):
    with open(os.environ["BENCH_SUMMARY"], "a") as f:
        f.write("steady_cpu_pct %.2f\nsteady_rss_mib %.1f\nsteady_p50_ms %.0f\nsteady_p99_ms %.0f\n"
                % (cpu, hwm, lat["p50_ms"], lat["p99_ms"]))
if sys.argv[13]:
    n_req = max(1, reqs)
    print()
    print("State file: %s saves (renames), %s fsyncs (file + directory) for %d PutLogEvents over "
          "the whole run: %.2f saves per request (strace -f --seccomp-bpf -c, startup and stop "
          "included)." % (sys.argv[14], sys.argv[13], reqs, int(sys.argv[14]) / n_req))
print()
print("Latency: entry written (its usecs) to its PutLogEvents answer written by the sink; "
      "every entry arrived exactly once. CPU measured over %.1f s (/proc/PID/stat, 10 ms ticks)."
      % (t1 - t0))
PY
echo "Machine: $(bench_machine)."
