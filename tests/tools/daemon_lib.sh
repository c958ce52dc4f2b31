# daemon_lib.sh: a sourceable bash library for the daemon's black-box integration scenarios.
#
#   source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
#   haf_setup                     # temp dir $T with audit/ and state/, traps cleanup
#   moto_start || exit $?         # (from moto.sh) local CloudWatch Logs with IAM auth on
#   haf_config GROUP              # writes $T/haf.yaml for the endpoint in $HAF_ENDPOINT or $MOTO_URL
#   haf_gen FILE FIRST COUNT      # append COUNT entries with sequence numbers FIRST.. to FILE
#   haf_start [ARGS...]           # daemon in the foreground mode, log in $T/daemon.log
#   haf_wait_delivered GROUP FIRST LAST [SECONDS]   # until all arrived, exactly once
#   haf_stop                      # SIGTERM, bounded wait; fails when the exit code is not 0
#
# Every process started here is stopped by the EXIT trap. The daemon binary is $HAF_BIN.

HAF_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HAF_SOURCE_DIR=${HAF_SOURCE_DIR:-$(cd "$HAF_LIB_DIR/../.." && pwd)}
HAF_REBOOT=${HAF_REBOOT:-263}
HAF_PID=

haf_fail() {
    echo "FAIL: $*" >&2
    if [ -f "$T/daemon.log" ]; then
        echo "--- daemon log (last 40 lines)" >&2
        tail -n 40 "$T/daemon.log" >&2
    fi
    exit 1
}

haf_cleanup() {
    if [ -n "${HAF_PID:-}" ] && kill -0 "$HAF_PID" 2>/dev/null; then
        kill -9 "$HAF_PID" 2>/dev/null
        wait "$HAF_PID" 2>/dev/null
    fi
    [ "$(type -t moto_stop)" = function ] && moto_stop
    [ "$(type -t haf_extra_cleanup)" = function ] && haf_extra_cleanup
    [ -n "${T:-}" ] && [ "${HAF_KEEP:-0}" != 1 ] && rm -rf "$T"
}

haf_setup() {
    [ -x "${HAF_BIN:-}" ] || { echo "HAF_BIN is not set to the daemon binary" >&2; exit 1; }
    T=$(mktemp -d)
    mkdir -p "$T/audit" "$T/state"
    chmod 700 "$T/state"
    export MOTO_NO_TRAP=1
    trap haf_cleanup EXIT
    source "$HAF_LIB_DIR/moto.sh"
}

# haf_config GROUP [STREAM_TEMPLATE] [EXTRA_YAML]
haf_config() {
    local group=$1 stream=${2:-"{file}"} extra=${3:-}
    local endpoint=${HAF_ENDPOINT:-$MOTO_URL}
    cat >"$T/haf.yaml" <<YAML
region: ${AWS_REGION:-us-east-1}
endpoint: $endpoint
state_dir: $T/state
create_log_group: true
batch:
  flush_interval_ms: ${HAF_FLUSH_MS:-200}
$extra
sources:
  - path: $T/audit/*.log
    log_group: $group
    log_stream: "$stream"
    format: ${HAF_FORMAT:-json}
YAML
    chmod 644 "$T/haf.yaml"
}

# haf_batch_max_events N: batch.max_events N in $T/haf.yaml (written by haf_config), set or changed.
haf_batch_max_events() {
    if grep -q '^  max_events: ' "$T/haf.yaml"; then
        sed -i "s/^  max_events: .*/  max_events: $1/" "$T/haf.yaml"
    else
        sed -i "s/^batch:\$/batch:\n  max_events: $1/" "$T/haf.yaml"
    fi
    grep -q "^  max_events: $1\$" "$T/haf.yaml" || haf_fail "could not set batch.max_events to $1"
}

# haf_gen FILE FIRST COUNT: entries with the current time, reboot counter $HAF_REBOOT.
haf_gen() {
    python3 "$HAF_SOURCE_DIR/tests/bench/gen_audit.py" -n "$3" --start-seq "$2" \
        --reboot "$HAF_REBOOT" --start-usecs "$(($(date +%s%N) / 1000))" >>"$1"
}

# haf_imds_start ARGS...: tests/tools/imds_server.py with ARGS in the background; sets IMDS_PID
# and IMDS_PORT (the caller stops it by that PID), fails when it does not come up.
haf_imds_start() {
    python3 "$HAF_SOURCE_DIR/tests/tools/imds_server.py" "$@" >"$T/imds.out" 2>&1 &
    IMDS_PID=$!
    for _ in $(seq 1 100); do
        grep -q '^PORT ' "$T/imds.out" 2>/dev/null && break
        sleep 0.1
    done
    IMDS_PORT=$(awk '/^PORT/ {print $2}' "$T/imds.out")
    [ -n "$IMDS_PORT" ] || haf_fail "imds_server did not start"
}

haf_start() {
    "$HAF_BIN" -f -v -c "$T/haf.yaml" "$@" >>"$T/daemon.out" 2>>"$T/daemon.log" &
    HAF_PID=$!
}

# haf_wait_log PATTERN [SECONDS]: until the daemon log has a line matching PATTERN.
haf_wait_log() {
    local deadline=$((SECONDS + ${2:-20}))
    while [ $SECONDS -lt $deadline ]; do
        grep -q -- "$1" "$T/daemon.log" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

haf_stop() {
    local rc
    [ -n "${HAF_PID:-}" ] || return 0
    kill -TERM "$HAF_PID" 2>/dev/null
    for _ in $(seq 1 300); do
        kill -0 "$HAF_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$HAF_PID" 2>/dev/null; then
        kill -9 "$HAF_PID"
        wait "$HAF_PID" 2>/dev/null
        HAF_PID=
        haf_fail "daemon did not stop within 30 s of SIGTERM"
    fi
    wait "$HAF_PID"
    rc=$?
    HAF_PID=
    [ "$rc" -eq 0 ] || haf_fail "daemon exited with $rc after SIGTERM"
}

haf_check() {
    python3 "$HAF_LIB_DIR/check_delivery.py" --endpoint "${HAF_ENDPOINT:-$MOTO_URL}" \
        --region "${AWS_REGION:-us-east-1}" --group "$1" --reboot "$HAF_REBOOT" \
        --first "$2" --last "$3" "${@:4}"
}

# haf_wait_delivered GROUP FIRST LAST [SECONDS]: succeeds once every entry arrived exactly once;
# fails on a duplicate as soon as two reads in a row agree on it. One read alone is not proof:
# GetLogEvents pages are positions in a timestamp-ordered list, so events that arrive between two
# pages of one read with earlier timestamps shift the list and that read sees some events twice
# (and misses as many) although each was stored once.
haf_wait_delivered() {
    local deadline=$((SECONDS + ${4:-30})) out prev=
    while [ $SECONDS -lt $deadline ]; do
        out=$(haf_check "$1" "$2" "$3" --quiet 2>&1) && { echo "$out"; return 0; }
        case "$out" in
        *"duplicates 0"*) prev= ;;
        *duplicates*)
            [ "$out" = "$prev" ] && { echo "$out"; return 1; }
            prev=$out
            ;;
        esac
        sleep 0.5
    done
    haf_check "$1" "$2" "$3"
    return 1
}
