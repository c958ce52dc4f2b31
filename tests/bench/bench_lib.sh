# bench_lib.sh: shared pieces of the benchmark scripts (sourced, not run).
#
#   source "$(dirname "$0")/bench_lib.sh"
#   bench_build                 # Release binary in build-bench-release/ ($BIN; BENCH_BIN=path
#                               # uses that binary instead, e.g. to compare two versions)
#   bench_workdir               # $W: a fresh temp dir (removed at exit unless BENCH_KEEP=1)
#   bench_sink_start [ARGS...]  # tests/bench/bench_sink.py on an ephemeral port ($SINK_PORT)
#   bench_tls_ca                # a test CA and a 127.0.0.1 certificate in $W/tls (openssl CLI);
#                               # BENCH_TLS=1 then makes bench_sink_start serve https
#   bench_config FILE GLOB [EXTRA_YAML]   # daemon config for the sink, state in $W/state;
#                               # BENCH_DIGEST=1 adds signed digests (an Ed25519 key file in $W)
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

bench_tls_ca() {
    local t=$W/tls
    mkdir -p "$t"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=haf bench CA" -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$t/ext.cnf"
    openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
        -days 2 -extfile "$t/ext.cnf" -out "$t/server.pem" 2>/dev/null
}

bench_sink_start() {
    local tls=()
    rm -f "$W/sink.port"
    if [ "${BENCH_TLS:-0}" = 1 ]; then
        [ -f "$W/tls/server.pem" ] || bench_tls_ca
        tls=(--tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key")
    fi
    python3 "$BENCH_HERE/bench_sink.py" --port-file "$W/sink.port" --max-seconds 3600 "${tls[@]}" "$@" \
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
    SINK_CURL=(curl -sf)
    if [ "${BENCH_TLS:-0}" = 1 ]; then
        SINK_URL="https://127.0.0.1:$SINK_PORT"
        SINK_CURL=(curl -sf --cacert "$W/tls/ca.pem")
    fi
}

bench_sink_get() { "${SINK_CURL[@]}" "$SINK_URL/_front/$1"; }
bench_sink_reset() { "${SINK_CURL[@]}" -X POST "$SINK_URL/_front/reset-stats" >/dev/null; }

# bench_json FILE_OR_- KEY: one top-level number from a JSON object.
bench_json() {
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d[sys.argv[1]])' "$2" <"$1"
}

# bench_digest_yaml: the digest section (default interval), with a fresh Ed25519 key file.
bench_digest_yaml() {
    [ -f "$W/digest-key.pem" ] ||
        (umask 077 && openssl genpkey -algorithm ed25519 -out "$W/digest-key.pem" 2>/dev/null)
    printf 'digest:\n  enabled: true\n  key_file: %s\n' "$W/digest-key.pem"
}

# bench_config FILE GLOB [EXTRA_YAML]
bench_config() {
    cat >"$1" <<YAML
region: us-east-1
endpoint: $SINK_URL
state_dir: $W/state
create_log_group: true
$([ "${BENCH_TLS:-0}" = 1 ] && printf 'tls:\n  ca_file: %s\n' "$W/tls/ca.pem")
$([ "${BENCH_DIGEST:-0}" = 1 ] && bench_digest_yaml)
${3:-}
sources:
  - path: $2
    log_group: /bench/audit
    log_stream: "{file}"
    format: json
YAML
}

# bench_backlog DIR N FILES: DIR holding N generated entries over FILES files (gen_audit.py),
# made when missing or when its entries got too old for CloudWatch (14 days; remade after 7).
# Entries ~0.2 s apart, starting far enough back that the newest is an hour old.
bench_backlog() {
    local dir=$1 n=$2 files=$3 span_s start
    if [ -f "$dir/.done" ] && [ -z "$(find "$dir/.done" -mtime +7)" ]; then
        return
    fi
    rm -rf "$dir"
    span_s=$((n / files / 5 + 3600))
    start=$((($(date +%s) - span_s) * 1000000))
    python3 "$BENCH_HERE/gen_audit.py" -n "$n" --files "$files" --dir "$dir" --start-usecs "$start"
    touch "$dir/.done"
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
