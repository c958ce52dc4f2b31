# reliability/lib.sh: shared helpers of the reliability scenarios (tests/integration/reliability_*.sh),
# on top of tests/tools/daemon_lib.sh.
#
#   source "$HAF_SOURCE_DIR/tests/reliability/lib.sh"
#   rel_setup NAME                  # haf_setup, dummy AWS keys, no IMDS, start time, result name
#   rel_front_start [ARGS...]       # cwl_front.py in store mode with --record; sets HAF_ENDPOINT
#   rel_config GROUP GLOB STREAM [EXTRA_YAML]   # $T/haf.yaml (small batches: many requests)
#   rel_faults JSON                 # change the front's faults while it runs
#   rel_front_stat EXPR             # a value from /_front/stats (python expression over `s`)
#   rel_wait_record FIRST LAST SECS # until the record holds FIRST..LAST exactly once (fast poll)
#   rel_verify GROUP FIRST LAST     # final verdict through the API (boto3 GetLogEvents), the
#                                   # record file and the front's violation count; writes the
#                                   # result line; exits 1 on loss, duplicates or violations
#   rel_bg CMD...                   # a background helper (stdout dropped) stopped by the EXIT trap
#   rel_kill_cycles N UP_MIN UP_MAX DOWN_MAX  # N kill -9 / restart cycles at random moments
#   rel_imds_start LIFETIME         # imds_server.py (keys issued to $T/issued.jsonl) as the only
#                                   # credential source; sets IMDS_PORT
#
# The verdict identifies every audit entry by (reboot_counter, sequence_no). The record file is
# what the front accepted, event by event, so it tells duplicates apart even when the read-back
# paginates; check_delivery.py reads the same through the CloudWatch Logs API and both must agree.
# Each scenario appends one tab-separated line to $HAF_RELIABILITY_RESULTS when it is set:
#   scenario  written  delivered  duplicates  lost  result  seconds  note

source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
REL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REL_BG_PIDS=()
FRONT_PID=

haf_extra_cleanup() {
    local p
    for p in "${REL_BG_PIDS[@]}" ${FRONT_PID:-}; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ "$(type -t rel_extra_cleanup)" = function ] && rel_extra_cleanup
    return 0
}

rel_setup() {
    REL_NAME=$1
    REL_START=$SECONDS
    haf_setup
    export AWS_ACCESS_KEY_ID=AKIDRELIABILITY AWS_SECRET_ACCESS_KEY=reliability-secret
    export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
    export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
    REL_WRITTEN=0
    REL_NOTE=
}

# rel_imds_start LIFETIME: a local IMDSv2 issuing keys that live LIFETIME s (each appended to
# $T/issued.jsonl, for cwl_front.py --credentials-file); from then on the only credentials
# anywhere are the IMDS's.
rel_imds_start() {
    haf_imds_start --lifetime "$1" --region us-east-1 --issued-file "$T/issued.jsonl"
    REL_BG_PIDS+=("$IMDS_PID")
    # From here on the only credentials anywhere are the IMDS's.
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED
    export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IMDS_PORT/"
}

rel_bg() {
    "$@" >/dev/null &
    REL_BG_PIDS+=($!)
}

# rel_front_start [ARGS...]: the checking front in store mode, recording every accepted event.
rel_front_start() {
    python3 "$HAF_SOURCE_DIR/tests/tools/cwl_front.py" --mode store --port-file "$T/front.port" \
        --record "$T/record.jsonl" --max-seconds 900 "$@" >"$T/front.out" 2>"$T/front.log" &
    FRONT_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$T/front.port" ] && break
        sleep 0.1
    done
    [ -s "$T/front.port" ] || haf_fail "cwl_front did not start: $(cat "$T/front.log")"
    export HAF_ENDPOINT="http://127.0.0.1:$(cat "$T/front.port")"
}

# rel_config GROUP GLOB STREAM [EXTRA_YAML]
rel_config() {
    cat >"$T/haf.yaml" <<YAML
region: us-east-1
endpoint: $HAF_ENDPOINT
state_dir: ${REL_STATE_DIR:-$T/state}
create_log_group: true
batch:
  max_events: ${REL_MAX_EVENTS:-100}
  flush_interval_ms: ${HAF_FLUSH_MS:-200}
${4:-}
sources:
  - path: $2
    log_group: $1
    log_stream: "$3"
    format: ${HAF_FORMAT:-json}
YAML
    chmod 644 "$T/haf.yaml"
}

rel_faults() {
    curl -s --max-time 5 -X POST --data "$1" "$HAF_ENDPOINT/_front/faults" >/dev/null ||
        haf_fail "cannot set the front's faults to $1"
}

rel_front_stat() {
    curl -s --max-time 5 "$HAF_ENDPOINT/_front/stats" |
        python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

# rel_count_record FIRST LAST: "delivered D duplicates U lost L markers M other O" from the record.
rel_count_record() {
    python3 "$REL_DIR/count_record.py" --record "$T/record.jsonl" --reboot "$HAF_REBOOT" \
        --first "$1" --last "$2"
}

# rel_wait_record FIRST LAST SECONDS: succeeds once everything arrived exactly once; fails at
# once on a duplicate.
rel_wait_record() {
    local deadline=$((SECONDS + $3)) out
    while [ $SECONDS -lt $deadline ]; do
        out=$(rel_count_record "$1" "$2") && return 0
        if [ -n "${HAF_PID:-}" ] && ! kill -0 "$HAF_PID" 2>/dev/null; then
            echo "$out; the daemon died"
            return 1
        fi
        case "$out" in *"duplicates 0 "*) ;; *) echo "$out"; return 1 ;; esac
        sleep 1
    done
    echo "$out"
    return 1
}

rel_result() {
    local result=$1 delivered=$2 dups=$3 lost=$4
    if [ -n "${HAF_RELIABILITY_RESULTS:-}" ]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$REL_NAME" "$REL_WRITTEN" "$delivered" "$dups" \
            "$lost" "$result" "$((SECONDS - REL_START))" "$REL_NOTE" >>"$HAF_RELIABILITY_RESULTS"
    fi
}

# A failure before the verdict still leaves a result line.
rel_fail() {
    rel_result FAIL "${REL_DELIVERED:--}" "${REL_DUPS:--}" "${REL_LOST:--}"
    haf_fail "$@"
}

# rel_verify GROUP FIRST LAST: the verdict. Exits (through rel_fail) on any loss, duplicate or
# invalid request; on success writes the PASS line.
rel_verify() {
    local group=$1 first=$2 last=$3 rec api viol
    rec=$(rel_count_record "$first" "$last")
    python3 "$HAF_SOURCE_DIR/tests/tools/check_delivery.py" --endpoint "$HAF_ENDPOINT" \
        --region us-east-1 --group "$group" --reboot "$HAF_REBOOT" --first "$first" \
        --last "$last" --json-out "$T/api.json" >"$T/api.out" 2>&1
    api=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["delivered"], r["duplicates"], r["lost"])' "$T/api.json" 2>/dev/null)
    read -r REL_DELIVERED REL_DUPS REL_LOST <<<"${api:-- - -}"
    echo "record: $rec"
    echo "api:    $(cat "$T/api.out")"
    viol=$(rel_front_stat 's["violation_count"]')
    [ "$viol" = 0 ] || { rel_front_stat 's["violations"][:5]' >&2; rel_fail "the front saw $viol invalid requests"; }
    [ -n "$api" ] || rel_fail "check_delivery.py failed: $(cat "$T/api.out")"
    [ "$REL_DUPS" = 0 ] && [ "$REL_LOST" = 0 ] || rel_fail "API read-back: $(head -c 2000 "$T/api.out")"
    case "$rec" in *"duplicates 0 lost 0 "*) ;; *) rel_fail "record: $rec" ;; esac
    rel_result PASS "$REL_DELIVERED" "$REL_DUPS" "$REL_LOST"
}

# rel_rss_kib PID: resident set size of a process in KiB.
rel_rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# rel_kill_cycles KILLS UP_MIN UP_MAX DOWN_MAX: start the daemon, kill it with SIGKILL after a
# random UP_MIN..UP_MAX s, keep it down a random 0.3..DOWN_MAX s; KILLS times. Fails unless every
# kill landed on a running daemon.
rel_kill_cycles() {
    local kills=0 i
    for i in $(seq 1 "$1"); do
        haf_start
        sleep "$(python3 -c "import random; print(round(random.uniform($2, $3), 3))")"
        kill -9 "$HAF_PID" 2>/dev/null && kills=$((kills + 1))
        wait "$HAF_PID" 2>/dev/null
        HAF_PID=
        sleep "$(python3 -c "import random; print(round(random.uniform(0.3, $4), 3))")"
    done
    echo "killed the daemon $kills times"
    [ "$kills" -ge "$1" ] || rel_fail "only $kills of $1 kills landed (daemon exited early?)"
}
