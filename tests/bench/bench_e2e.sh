#!/usr/bin/env bash
# bench_e2e.sh: end-to-end throughput, CPU and memory of `hsm-audit-forwarder --once` shipping a
# backlog of generated audit entries to a loopback sink. Not a timed test: it prints numbers.
#
# Builds a Release binary (build-bench-release/), generates backlogs of N entries split over
# BENCH_FILES files (one log stream each; gen_audit.py, ~330 bytes per entry, times in the last
# days so nothing is reclocked), starts tests/bench/bench_sink.py (counts events, checks the
# SigV4 headers are present and well-formed, stores nothing) and runs the daemon --once from a
# fresh state BENCH_RUNS times per size under /usr/bin/time -v: wall time (bash's microsecond
# clock), user and system CPU, maximum RSS. Each run must exit 0 with exactly N events at the sink
# and no violation. The sink's own CPU (getrusage in the sink) is reported too, so a reader sees
# it is not the bottleneck. The SHA-256 floor is the CPU OpenSSL needs to hash the request bodies
# alone (SigV4 signs the body's hash), measured here.
#
# Output: a markdown table (medians of the runs; RSS is the largest of the runs) on stdout.
# Environment: BENCH_SIZES (default "100000 1000000 3000000 1000000:1"; N:F is N entries over F
# files), BENCH_RUNS (default 5; 3M runs at most 3 times), BENCH_FILES (default 4),
# BENCH_QUICK=1 (sizes "100000 1000000 1000000:1", 1 run),
# BENCH_DATA (where backlogs are kept between runs, default build-bench-release/bench-data),
# BENCH_KEEP=1 keeps the work dir, BENCH_SUMMARY=FILE appends "key value" lines for run_all.sh,
# BENCH_TLS=1 serves the sink over TLS (a test CA made with the openssl CLI; the daemon gets it
# as tls.ca_file) and prints the TLS handshakes the sink saw (one per connection),
# BENCH_DIGEST=1 turns signed digests on (key file; records on "<stream>.digest" are not counted
# as entries).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/bench_lib.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    sizes=${BENCH_SIZES:-"100000 1000000 1000000:1"}
    runs=${BENCH_RUNS:-1}
else
    sizes=${BENCH_SIZES:-"100000 1000000 3000000 1000000:1"}
    runs=${BENCH_RUNS:-5}
fi
default_files=${BENCH_FILES:-4}

bench_build
bench_workdir
data=${BENCH_DATA:-$BENCH_BUILD/bench-data}
mkdir -p "$data"
bench_sink_start

# The SHA-256 floor: OpenSSL's speed on 1 MiB buffers (what the daemon hashes per request).
sha_mbps=$(python3 - <<'PY'
import hashlib, time
buf = bytes(1 << 20) * 1
best = 0
for _ in range(5):
    t0 = time.process_time(); n = 0
    while time.process_time() - t0 < 0.2:
        hashlib.sha256(buf).digest(); n += 1
    best = max(best, n * len(buf) / (time.process_time() - t0) / 1e6)
print("%.0f" % best)
PY
)

backlog() {
    bench_backlog "$data/e2e-$1-$files" "$1" "$files"
    echo "$data/e2e-$1-$files"
}

rows=()
for spec in $sizes; do
    n=${spec%%:*}
    files=$default_files
    [ "$spec" != "$n" ] && files=${spec#*:}
    dir=$(backlog "$n")
    bytes=$(cat "$dir"/*.log | wc -c)
    bench_config "$W/haf.yaml" "$dir/*.log"
    r=$runs
    [ "$n" -ge 3000000 ] && [ "$r" -gt 3 ] && r=3
    : >"$W/runs.txt"
    for ((i = 0; i < r; i++)); do
        rm -rf "$W/state"/*
        bench_sink_reset
        t0=$EPOCHREALTIME
        rc=0
        /usr/bin/time -v -o "$W/time.txt" "$BIN" --once -c "$W/haf.yaml" 2>"$W/daemon.err" || rc=$?
        t1=$EPOCHREALTIME
        bench_sink_get stats >"$W/sink.json"
        if [ "$rc" -ne 0 ]; then
            echo "bench: the daemon exited $rc" >&2
            tail -n 20 "$W/daemon.err" >&2
            exit 1
        fi
        python3 - "$W/sink.json" "$n" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
got = sum(v for k, v in s["stream_events"].items() if not k.endswith(".digest"))
if got != n or s["violations"] != 0:
    sys.exit("bench: sink got %d events (expected %d), %d violations: %s"
             % (got, n, s["violations"], s["violation_samples"][:3]))
PY
        awk -v t0="$t0" -v t1="$t1" -F': ' '
            /User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {m = $2}
            END {printf "%.6f %.2f %.2f %d", t1 - t0, u, s, m}' "$W/time.txt" >>"$W/runs.txt"
        python3 -c 'import json, sys; s = json.load(open(sys.argv[1]));
print(" %.3f %d %d" % (s["cpu_seconds"], s["requests_by_op"].get("PutLogEvents", 0), s["bytes"]))' \
            "$W/sink.json" >>"$W/runs.txt"
    done
    rows+=("$(awk -v n="$n" -v files="$files" -v bytes="$bytes" -v sha="$sha_mbps" -v runs="$r" \
        -v summary="${BENCH_SUMMARY:-}" '
        function med(a, k,   i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) {t = a[i]; a[i] = a[j]; a[j] = t}
            return a[int((k + 1) / 2)]
        }
        {w[NR] = $1; c[NR] = $2 + $3; u[NR] = $2; s[NR] = $3; if ($4 > rss) rss = $4; sc[NR] = $5; rq[NR] = $6; b[NR] = $7}
        END {
            k = NR; W = med(w, k); C = med(c, k); U = med(u, k); S = med(s, k); SC = med(sc, k); R = med(rq, k); B = med(b, k)
            m = n / 1e6; floor = B / (sha * 1e6) / m
            printf "| %d | %d | %.0f | %d | %.0f | %.2f (%.2f + %.2f) | %.0f | %.1f | %.2f | %.2f | %.1fx | %d |\n",
                n, files, bytes / 1e6, runs, n / W, C / m, U / m, S / m, n / C, rss / 1024, SC / m, floor, (C / m) / floor, R
            if (summary != "")
                printf "e2e_%d_%d_eps %.0f\ne2e_%d_%d_cpu_per_m %.2f\ne2e_%d_%d_rss_mib %.1f\ne2e_%d_%d_sink_cpu_per_m %.2f\ne2e_%d_%d_floor_x %.1f\n",
                    n, files, n / W, n, files, C / m, n, files, rss / 1024, n, files, SC / m, n, files, (C / m) / floor >> summary
        }' "$W/runs.txt")")
done

tls_note=""
if [ "${BENCH_TLS:-0}" = 1 ]; then
    tls_note=", over TLS"
fi
echo "#### End to end: \`--once\` from a backlog to a loopback sink$tls_note"
echo
echo "| entries | files (streams) | input MB | runs | entries/s (wall) | CPU-s per 1M entries (user + sys) | entries per CPU-s | peak RSS MiB | sink CPU-s per 1M | SHA-256 floor CPU-s per 1M | x floor | PutLogEvents |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
[ "${BENCH_TLS:-0}" = 1 ] && echo "TLS handshakes in the last run: $(bench_json "$W/sink.json" tls_handshakes) (resumed: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("tls_resumed", 0))' "$W/sink.json"))."
echo "SHA-256 here: $sha_mbps MB/s (OpenSSL via Python hashlib, 1 MiB buffers). Machine: $(bench_machine)."
