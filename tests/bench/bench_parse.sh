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
# (default a fresh temp dir, removed at exit), BENCH_FORMAT (default json), BENCH_BIN (measure
# this binary instead of building one), BENCH_BASE_BIN (a second binary run alternately with the
# first in the same loop, printed as "base" rows, so that ratios come from one run on a noisy
# machine).
#
# BENCH_PROFILE=1 adds what does not depend on the machine's load: instructions per entry from
# callgrind (valgrind, installed when missing: the difference between 10,000 and 20,000 entries,
# so start-up is not counted; for the base binary too), and where the time goes (`perf record -e
# cpu-clock`, Debian's linux-perf, installed when missing; skipped when perf cannot sample here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build="$top/build-bench-parse"
runs=${BENCH_RUNS:-5}
sizes=${BENCH_SIZES:-"100000 1000000"}
format=${BENCH_FORMAT:-json}
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT

if [ -n "${BENCH_BIN:-}" ]; then
    bin=$BENCH_BIN
else
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHAF_TESTS=OFF >"$work/cmake.log" 2>&1 ||
        { cat "$work/cmake.log"; exit 1; }
    cmake --build "$build" -j "$(nproc)" --target hsm-audit-forwarder >"$work/build.log" 2>&1 ||
        { tail -n 40 "$work/build.log"; exit 1; }
    bin="$build/hsm-audit-forwarder"
fi
base=${BENCH_BASE_BIN:-}

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
    # one run of binary $1: appends wall s, CPU s and RSS KiB to the arrays named by $2
    run_one() {
        local t0 t1 t r c
        # wall time from bash's microsecond clock, CPU from the shell's children times in
        # milliseconds (time -v prints only centiseconds: a 2 % step at 0.5 s); the extra
        # /usr/bin/time process costs ~1 ms of it
        times >"$work/times0"
        t0=$EPOCHREALTIME
        /usr/bin/time -v -o "$work/time.txt" "$1" parse --format "$format" "$input" >/dev/null
        t1=$EPOCHREALTIME
        times >"$work/times1"
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        c=$(tail -q -n 1 "$work/times0" "$work/times1" | awk '
            function sec(x) { split(x, a, /[ms]/); return a[1] * 60 + a[2] }
            {c[NR] = sec($1) + sec($2)} END {printf "%.3f", c[2] - c[1]}')
        eval "$2_t+=(\"$t\"); $2_c+=(\"$c\"); [ \"$r\" -gt \"\$$2_r\" ] && $2_r=$r" || true
    }
    # entries MB entries/s MB/s median-s entries/CPU-s RSS-KiB, after an optional label
    row() {
        local label=$1 med cmed
        shift
        med=$(printf '%s\n' "$@" | head -n "$runs" | median)
        cmed=$(printf '%s\n' "$@" | tail -n "$runs" | median)
        awk -v l="$label" -v n="$n" -v b="$bytes" -v t="$med" -v c="$cmed" -v r="$rss_kib" 'BEGIN {
            if (t <= 0) t = 0.001;
            if (c <= 0) c = 0.01;
            printf "%s%-9d %6.1f %12.0f %8.1f %10.3f %14.0f %10d\n", l, n, b/1e6, n/t, b/1e6/t, t,
                n/c, r }'
    }
    this_t=() this_c=() this_r=0 base_t=() base_c=() base_r=0
    for ((i = 0; i < runs; i++)); do
        if [ -n "$base" ] && ((i % 2)); then
            run_one "$base" base
            run_one "$bin" this
        else
            run_one "$bin" this
            [ -z "$base" ] || run_one "$base" base
        fi
    done
    rss_kib=$this_r row "" "${this_t[@]}" "${this_c[@]}"
    [ -z "$base" ] || rss_kib=$base_r row "base " "${base_t[@]}" "${base_c[@]}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

[ "${BENCH_PROFILE:-0}" = 1 ] || exit 0
# Instructions per entry (callgrind): the cost of 10,000 more entries, so start-up is left out.
command -v valgrind >/dev/null ||
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends valgrind >/dev/null
python3 "$here/gen_audit.py" -n 10000 -o "$work/audit-10k.log"
python3 "$here/gen_audit.py" -n 20000 -o "$work/audit-20k.log"
irefs() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" parse --format "$format" "$2" \
        2>&1 >/dev/null | awk '/refs:/ {gsub(",", "", $NF); print $NF}'
}
for b in "$bin" $base; do
    i10=$(irefs "$b" "$work/audit-10k.log")
    i20=$(irefs "$b" "$work/audit-20k.log")
    label=this
    [ "$b" = "$bin" ] || label=base
    echo "instructions per entry ($label, callgrind, 10k -> 20k entries): $(((i20 - i10) / 10000))"
done
# Where the time goes (perf, sampling the CPU clock: hardware counters are often absent in VMs).
command -v perf >/dev/null ||
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends linux-perf >/dev/null ||
    true
input="$work/audit-$(echo "$sizes" | awk '{print $NF}').log"
if perf record -q -e cpu-clock -F 2000 -o "$work/perf.data" "$bin" parse --format "$format" \
    "$input" >/dev/null 2>&1; then
    echo "profile (perf record -e cpu-clock, this binary, top 12 by self time):"
    perf report -i "$work/perf.data" --no-children --stdio 2>/dev/null |
        awk '/^ +[0-9.]+%/ {printf "  %s %s\n", $1, $NF; if (++k == 12) exit}'
else
    echo "profile: perf cannot sample here"
fi
