#!/usr/bin/env bash
# bench_memory.sh: memory of `hsm-audit-forwarder --once` under a backlog, by number of streams.
# Not a timed test: it prints numbers.
#
# For each F in BENCH_MEM_FILES (default "1 4 10 28"), BENCH_MEM_N entries (default 300000) are
# split over F files (one log stream each; gen_audit.py) and shipped --once from a fresh state to
# the loopback sink (BENCH_TLS=1: over TLS), BENCH_RUNS times (default 3), the file counts
# interleaved run by run. Measured: peak RSS (/usr/bin/time -v), peak private memory (RssAnon
# from /proc/PID/status sampled every 10 ms), CPU (user + sys) and the PutLogEvents count. Every
# run must deliver exactly N events with no violation. BENCH_BASE_BIN=path measures a second
# binary in the same interleaved runs (e.g. the previous release), one more column set.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/bench_lib.sh"

counts=${BENCH_MEM_FILES:-"1 4 10 28"}
n=${BENCH_MEM_N:-300000}
runs=${BENCH_RUNS:-3}

bench_build
bench_workdir
data=${BENCH_DATA:-$BENCH_BUILD/bench-data}
mkdir -p "$data"
bench_sink_start
bins=("$BIN")
[ -n "${BENCH_BASE_BIN:-}" ] && bins+=("$BENCH_BASE_BIN")

backlog() {
    bench_backlog "$data/mem-$n-$1" "$n" "$1"
    echo "$data/mem-$n-$1"
}

# run BIN DIR: one --once run; appends "rss_kb anon_kb cpu_s puts" to stdout.
run() {
    local bin=$1 dir=$2 pid anon=0 a
    rm -rf "$W/state"/*
    bench_sink_reset
    bench_config "$W/haf.yaml" "$dir/*.log"
    /usr/bin/time -v -o "$W/time.txt" "$bin" --once -c "$W/haf.yaml" 2>"$W/daemon.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        a=$(awk '$1 == "RssAnon:" {print $2}' /proc/$(pgrep -P "$pid" | head -1)/status 2>/dev/null || echo 0)
        [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
        sleep 0.01
    done
    wait "$pid" || { echo "bench: the daemon failed" >&2; tail -n 20 "$W/daemon.err" >&2; exit 1; }
    bench_sink_get stats >"$W/sink.json"
    python3 - "$W/sink.json" "$n" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
if s["events"] != int(sys.argv[2]) or s["violations"] != 0:
    sys.exit("bench: sink got %d events, %d violations" % (s["events"], s["violations"]))
PY
    awk -v anon="$anon" -v puts="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests_by_op"].get("PutLogEvents", 0))' "$W/sink.json")" -F': ' '
        /User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {m = $2}
        END {printf "%d %d %.2f %d\n", m, anon, u + s, puts}' "$W/time.txt"
}

for f in $counts; do backlog "$f" >/dev/null; done
: >"$W/rows.txt"
for ((i = 0; i < runs; i++)); do
    for f in $counts; do
        for b in "${!bins[@]}"; do
            echo "$b $f $(run "${bins[$b]}" "$(backlog "$f")")" >>"$W/rows.txt"
        done
    done
done

echo "#### Memory under a backlog: \`--once\`, $n entries over F files (F streams)$([ "${BENCH_TLS:-0}" = 1 ] && echo ', TLS')"
echo
echo "| binary | streams | runs | peak RSS MiB (max) | peak private MiB (max) | CPU-s per 1M (median) | PutLogEvents |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for b in "${!bins[@]}"; do
    for f in $counts; do
        awk -v b="$b" -v f="$f" -v n="$n" -v name="$([ "$b" = 0 ] && echo this || echo base)" '
            $1 == b && $2 == f {k++; if ($3 > r) r = $3; if ($4 > a) a = $4; c[k] = $5; p = $6}
            END {
                for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (c[j] < c[i]) {t = c[i]; c[i] = c[j]; c[j] = t}
                printf "| %s | %d | %d | %.1f | %.1f | %.2f | %d |\n", name, f, k, r / 1024, a / 1024, c[int((k + 1) / 2)] / (n / 1e6), p
            }' "$W/rows.txt"
    done
done
echo
echo "Private = RssAnon sampled every 10 ms. Machine: $(bench_machine)."
