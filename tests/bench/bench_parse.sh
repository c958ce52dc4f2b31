#!/usr/bin/env bash
# bench_parse.sh: throughput and memory of `hsm-audit-forwarder parse --format json` (the parser
# and formatter hot path plus read/write I/O). Not a timed test: it prints numbers.
#
# Builds a Release binary in its own directory (build-bench-parse/, tests off), generates N
# entries with gen_audit.py for N = 100,000 and 1,000,000, runs the parse 5 times each with
# stdout to /dev/null, and prints the median wall-clock entries/s and input MB/s, the median
# entries per CPU-second (user+sys of the process: the one-core rate, which stays meaningful on a
# busy shared machine where wall time does not), and the peak RSS (/usr/bin/time -v). Equal RSS
# for both N shows memory is flat in the input size. The load average is printed alongside.
#
# Environment: BENCH_RUNS (default 5), BENCH_SIZES (default "100000 1000000"), BENCH_DIR
# (default a fresh temp dir, removed at exit), BENCH_FORMAT (default json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build="$top/build-bench-parse"
runs=${BENCH_RUNS:-5}
sizes=${BENCH_SIZES:-"100000 1000000"}
format=${BENCH_FORMAT:-json}
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHAF_TESTS=OFF >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target hsm-audit-forwarder >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log"; exit 1; }
bin="$build/hsm-audit-forwarder"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
printf '%-9s %6s %12s %8s %10s %14s %10s\n' entries MB "entries/s" "MB/s" "median s" \
    "entries/CPU-s" "RSS KiB"
for n in $sizes; do
    input="$work/audit-$n.log"
    [ -f "$input" ] || python3 "$here/gen_audit.py" -n "$n" -o "$input"
    bytes=$(stat -c %s "$input")
    # sanity: every entry comes out, none flagged
    lines=$("$bin" parse --format json "$input" | grep -vc '"parse_error"' || true)
    [ "$lines" -eq "$n" ] || { echo "bench: expected $n clean entries, got $lines"; exit 1; }
    times=() cpus=() rss=0
    for ((i = 0; i < runs; i++)); do
        # wall time from bash's microsecond clock (time -v prints only centiseconds)
        t0=$EPOCHREALTIME
        /usr/bin/time -v -o "$work/time.txt" "$bin" parse --format "$format" "$input" >/dev/null
        t1=$EPOCHREALTIME
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        c=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.3f", s}' "$work/time.txt")
        times+=("$t")
        cpus+=("$c")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    med=$(printf '%s\n' "${times[@]}" | median)
    cmed=$(printf '%s\n' "${cpus[@]}" | median)
    awk -v n="$n" -v b="$bytes" -v t="$med" -v c="$cmed" -v r="$rss" 'BEGIN {
        if (t <= 0) t = 0.001;
        if (c <= 0) c = 0.01;
        printf "%-9d %6.1f %12.0f %8.1f %10.3f %14.0f %10d\n", n, b/1e6, n/t, b/1e6/t, t, n/c, r }'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
