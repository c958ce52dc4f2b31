#!/usr/bin/env bash
# bench_report.sh: throughput and memory of `hsm-audit-forwarder report` over audit files (read,
# parse, aggregate, render). Not a timed test: it prints numbers.
#
# Builds a Release binary (tests/bench/bench_lib.sh), generates N entries with gen_audit.py for
# N = 100,000 and 1,000,000 (4 files, 4 HSMs, the realistic mix of logins, user and key
# operations), runs `report --format json` BENCH_RUNS times each (default 5) with stdout to
# /dev/null, and prints the median wall-clock entries/s, entries per CPU-second (user+sys: the
# one-core rate, meaningful on a busy shared machine) and the peak RSS (/usr/bin/time -v). The
# target is >= 1,000,000 entries/s; equal RSS for both N shows memory is flat in the number of
# entries (the aggregation's tables are fixed: report.h). The html format is timed once at the
# largest N too. BENCH_SIZES overrides the sizes. With BENCH_MARKDOWN=1 (tests/bench/run_all.sh)
# the table is printed as markdown, and with BENCH_SUMMARY=FILE the figures are appended there as
# "report_<N>_<fmt>_{eps,cpu_eps,rss_mib} value" lines.
set -euo pipefail
source "$(dirname "$0")/bench_lib.sh"
bench_build
bench_workdir
runs=${BENCH_RUNS:-5}
sizes=${BENCH_SIZES:-"100000 1000000"}

md=${BENCH_MARKDOWN:-0}
before="$(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
if [ "$md" = 1 ]; then
    echo "#### Report: \`report --format json FILES >/dev/null\` (tests/bench/bench_report.sh)"
    echo
    echo "| entries | format | entries/s (wall) | entries per CPU-s | median s | peak RSS KiB |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: |"
else
    echo "load average before: $before"
    printf '%-9s %7s %12s %14s %10s %10s\n' entries format "entries/s" "entries/CPU-s" \
        "median s" "RSS KiB"
fi
run_one() { # N FORMAT RUNS
    local n=$1 fmt=$2 k=$3 times=() cpus=() rss=0 t0 t1 r c
    for ((i = 0; i < k; i++)); do
        t0=$EPOCHREALTIME
        /usr/bin/time -v -o "$W/time.txt" "$BIN" report --format "$fmt" "$W/in-$n"/*.log \
            >"$W/out.$fmt" 2>/dev/null
        t1=$EPOCHREALTIME
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')")
        c=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.3f", s}' "$W/time.txt")
        cpus+=("$c")
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
        [ "$r" -gt "$rss" ] && rss=$r
    done
    local t cpu
    local eps ceps
    t=$(printf '%s\n' "${times[@]}" | bench_median)
    cpu=$(printf '%s\n' "${cpus[@]}" | bench_median)
    eps=$(awk -v n="$n" -v t="$t" 'BEGIN {printf "%.0f", n / t}')
    ceps=$(awk -v n="$n" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? n / c : 0)}')
    if [ "$md" = 1 ]; then
        printf '| %s | %s | %s | %s | %.3f | %s |\n' "$n" "$fmt" "$eps" "$ceps" "$t" "$rss"
    else
        printf '%-9s %7s %12s %14s %10.3f %10s\n' "$n" "$fmt" "$eps" "$ceps" "$t" "$rss"
    fi
    if [ -n "${BENCH_SUMMARY:-}" ]; then
        printf 'report_%s_%s_eps %s\nreport_%s_%s_cpu_eps %s\nreport_%s_%s_rss_mib %s\n' \
            "$n" "$fmt" "$eps" "$n" "$fmt" "$ceps" "$n" "$fmt" \
            "$(awk -v r="$rss" 'BEGIN {printf "%.1f", r / 1024}')" >>"$BENCH_SUMMARY"
    fi
}
for n in $sizes; do
    [ -d "$W/in-$n" ] || python3 "$BENCH_HERE/gen_audit.py" -n "$n" --files 4 --dir "$W/in-$n"
    # sanity: every entry counted
    got=$("$BIN" report --format json "$W/in-$n"/*.log 2>/dev/null | jq -r .entries)
    [ "$got" = "$n" ] || { echo "bench_report: expected $n entries, report counted $got"; exit 1; }
    run_one "$n" json "$runs"
    last=$n
done
run_one "$last" html 1
if [ "$md" = 1 ]; then
    echo
    echo "load average before: $before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
else
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
