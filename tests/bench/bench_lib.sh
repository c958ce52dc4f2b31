# bench_lib.sh: shared pieces of the benchmark scripts (sourced, not run).
#
#   source "$(dirname "$0")/bench_lib.sh"
#   bench_build                 # Release binary in build-bench-release/ ($BIN; BENCH_BIN=path
#                               # uses that binary instead, e.g. to compare two versions)
#   bench_workdir               # $W: a fresh temp dir (removed at exit unless BENCH_KEEP=1)
#   bench_sink_start [ARGS...]  # tests/bench/bench_sink.py on an ephemeral port ($SINK_PORT)
#   bench_config FILE GLOB [EXTRA_YAML]   # daemon config for the sink, state in $W/state
#   bench_median                # stdin numbers -> median
#
# Every process started here is stopped by the EXIT trap. Credentials are fixed fake ones in the
# environment; nothing else from the caller's AWS environment leaks in (no profile, no IMDS).

BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_TOP=$(cd "$BENCH_HERE/../.." && pwd)
BENCH_BUILD=${BENCH_BUILD:-$BENCH_TOP/build-bench-release}
BENCH_PIDS=()

export AWS_ACCESS_KEY_ID=AKIDBENCHEXAMPLE0000 AWS_SECRET_ACCESS_KEY=bench/secret/key/0000000000000
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_ENDPOINT_URL AWS_ENDPOINT_URL_LOGS HTTPS_PROXY https_proxy HTTP_PROXY http_proxy

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [ -n "${W:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ] && rm -rf "$W"
    return 0
}
trap bench_cleanup EXIT

bench_build() {
    local log
    if [ -n "${BENCH_BIN:-}" ]; then
        BIN=$BENCH_BIN
        return
    fi
    log=$(mktemp)
    if ! cmake -S "$BENCH_TOP" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DHAF_TESTS=OFF \
        >"$log" 2>&1 || ! cmake --build "$BENCH_BUILD" -j "$(nproc)" --target hsm-audit-forwarder \
        >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
    BIN="$BENCH_BUILD/hsm-audit-forwarder"
}

bench_workdir() {
    W=$(mktemp -d "${TMPDIR:-/tmp}/haf-bench.XXXXXX")
    mkdir -p "$W/state"
    chmod 700 "$W/state"
}

bench_sink_start() {
    rm -f "$W/sink.port"
    python3 "$BENCH_HERE/bench_sink.py" --port-file "$W/sink.port" --max-seconds 3600 "$@" \
        >"$W/sink.out" 2>"$W/sink.err" &
    SINK_PID=$!
    BENCH_PIDS+=("$SINK_PID")
    for _ in $(seq 1 100); do
        [ -s "$W/sink.port" ] && break
        sleep 0.05
    done
    [ -s "$W/sink.port" ] || { echo "bench: the sink did not start" >&2; cat "$W/sink.err" >&2; exit 1; }
    SINK_PORT=$(cat "$W/sink.port")
    SINK_URL="http://127.0.0.1:$SINK_PORT"
}

bench_sink_get() { curl -sf "$SINK_URL/_front/$1"; }
bench_sink_reset() { curl -sf -X POST "$SINK_URL/_front/reset-stats" >/dev/null; }

# bench_json FILE_OR_- KEY: one top-level number from a JSON object.
bench_json() {
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d[sys.argv[1]])' "$2" <"$1"
}

# bench_config FILE GLOB [EXTRA_YAML]
bench_config() {
    cat >"$1" <<YAML
region: us-east-1
endpoint: $SINK_URL
state_dir: $W/state
create_log_group: true
${3:-}
sources:
  - path: $2
    log_group: /bench/audit
    log_stream: "{file}"
    format: json
YAML
}

bench_median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# bench_proc_cpu PID: user+system CPU seconds of a running process (from /proc, clock ticks).
bench_proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

# bench_proc_status PID KEY: a kB figure from /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile).
bench_proc_status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# bench_machine: one line saying where the numbers come from.
bench_machine() {
    local cpu
    cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
    echo "$(nproc) x ${cpu:-unknown CPU}, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
        "$(uname -r), git $(git -C "$BENCH_TOP" rev-parse --short HEAD 2>/dev/null || echo '?')"
}
