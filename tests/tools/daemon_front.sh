# daemon_front.sh: a sourceable bash library that runs the checking front (cwl_front.py) as the
# CloudWatch Logs endpoint of a daemon scenario, for scenarios that need faults, request checks or
# a quick start (the front listens in well under a second; moto_server takes about 6 s).
#
#   source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
#   source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
#   haf_setup
#   front_start [CWL_FRONT_ARGS...]   # store mode by default; sets HAF_ENDPOINT, FRONT_URL, FRONT_PID
#   haf_config GROUP ...              # (daemon_lib.sh) now points at the front
#   front_stat KEY                    # one counter of GET /_front/stats (a Python expression on s)
#   front_faults '{"down_until": 0}'  # change the fault settings while running
#   front_stop                        # also run by the EXIT trap (through haf_extra_cleanup)
#
# The front verifies every request's SigV4 signature with the key exported here, and every
# PutLogEvents against CloudWatch's rules: a scenario asserts `front_stat violation_count` is 0.
# Nothing of the caller's AWS setup leaks in (no shared files, no IMDS). Loopback only.

FRONT_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRONT_PID=

front_stop() {
    if [ -n "${FRONT_PID:-}" ]; then
        kill "$FRONT_PID" 2>/dev/null || true
        wait "$FRONT_PID" 2>/dev/null || true
        FRONT_PID=
    fi
    return 0
}

haf_extra_cleanup() {
    front_stop
}

# front_start [ARGS...]: on FRONT_PORT when set (to come back on the same port), else ephemeral.
# With --mode proxy (to moto_server, started first with moto_start) the caller's AWS_* keys are
# kept and moto checks the signatures; otherwise a scenario key is exported and the front checks.
front_start() {
    local portfile="$T/front.port" auth=()
    case " $* " in
    *" --mode proxy "*) ;;
    *)
        export AWS_ACCESS_KEY_ID=AKIDHAFSCENARIO00001
        export AWS_SECRET_ACCESS_KEY=scenario/secret/key/for/the/front/only00
        export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
        export AWS_EC2_METADATA_DISABLED=true
        unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN
        auth=(--credentials "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
        ;;
    esac
    export AWS_REGION=${AWS_REGION:-us-east-1}
    export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
    rm -f "$portfile"
    python3 "$FRONT_TOOLS_DIR/cwl_front.py" --port-file "$portfile" --max-seconds 300 \
        "${auth[@]}" ${FRONT_PORT:+--port "$FRONT_PORT"} "$@" >>"$T/front.out" 2>>"$T/front.err" &
    FRONT_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$portfile" ] && break
        kill -0 "$FRONT_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -s "$portfile" ] || { cat "$T/front.err" >&2; echo "FAIL: cwl_front did not start" >&2; exit 1; }
    FRONT_PORT=$(cat "$portfile")
    FRONT_URL="http://127.0.0.1:$FRONT_PORT"
    export HAF_ENDPOINT=$FRONT_URL
}

# front_stat EXPR: evaluates EXPR over the stats object s, e.g. front_stat 's["violation_count"]'.
front_stat() {
    curl -s --max-time 5 "$FRONT_URL/_front/stats" |
        python3 -c 'import json,sys; s=json.load(sys.stdin); print('"$1"')'
}

front_faults() {
    curl -s --max-time 5 -X POST --data "$1" "$FRONT_URL/_front/faults" >/dev/null
}

# front_targeted JSON: faults for some streams only (POST /_front/targeted; cwl_front.py's help).
front_targeted() {
    curl -s --max-time 5 -X POST --data "$1" "$FRONT_URL/_front/targeted" >/dev/null ||
        haf_fail "cannot set the front's targeted faults to $1"
}

# front_hold_puts_then_kill SECONDS EVENTS: the front holds every PutLogEvents for SECONDS (then
# applies it); the daemon (started here with -vv) sends a request of EVENTS events and is killed
# with SIGKILL while the front holds it. Sets FRONT_RELEASE (epoch seconds).
front_hold_puts_then_kill() {
    FRONT_RELEASE=$(($(date +%s) + $1))
    front_targeted "{\"stream\": \"\", \"stall_ops\": [\"PutLogEvents\"], \"stall_until\": $FRONT_RELEASE}"
    haf_start -vv
    haf_wait_log "sending $2 events" 10 || haf_fail "no request of $2 events was sent"
    sleep 0.5
    [ "$(front_stat 's["stalled"]')" -ge 1 ] || haf_fail "no PutLogEvents held at the front"
    kill -9 "$HAF_PID"
    wait "$HAF_PID" 2>/dev/null
    HAF_PID=
}

# front_release_held GROUP FIRST LAST: until the held request (front_hold_puts_then_kill), applied
# by the front at FRONT_RELEASE, delivered FIRST..LAST; then the front holds nothing more.
front_release_held() {
    local out
    out=$(haf_wait_delivered "$1" "$2" "$3" 15) || { echo "$out"; haf_fail "the held request was not applied"; }
    front_targeted '{"stream": "", "stall_ops": []}'
}

# front_assert_clean: no request the daemon sent broke a CloudWatch rule.
front_assert_clean() {
    local v
    v=$(front_stat 's["violation_count"]')
    [ "$v" = 0 ] || {
        front_stat 's["violations"][:5]' >&2
        haf_fail "the front recorded $v violations"
    }
}

# haf_wait_exact GROUP FIRST LAST SECONDS [check_delivery args...]: until FIRST..LAST arrived
# exactly once AND nothing else identified as an entry did (unexpected 0); fails at once on a
# duplicate. Prints the last check_delivery summary. (daemon_lib's haf_wait_delivered allows extra
# entries; scenarios that must prove something was NOT sent use this.)
haf_wait_exact() {
    local g=$1 first=$2 last=$3 deadline=$((SECONDS + $4)) out
    shift 4
    while [ $SECONDS -lt $deadline ]; do
        out=$(haf_check "$g" "$first" "$last" --quiet "$@" 2>&1)
        case "$out" in *"duplicates 0 "*) ;; *duplicates*) echo "$out"; return 1 ;; esac
        case "$out" in *"lost 0 unexpected 0 "*) echo "$out"; return 0 ;; esac
        sleep 0.3
    done
    haf_check "$g" "$first" "$last" "$@"
    return 1
}

# haf_write_config BODY: a config like haf_config's with BODY (sources: and more) appended.
haf_write_config() {
    local body=$1
    cat >"$T/haf.yaml" <<YAML
region: ${AWS_REGION:-us-east-1}
endpoint: ${HAF_ENDPOINT:-$MOTO_URL}
state_dir: $T/state
create_log_group: true
batch:
  flush_interval_ms: ${HAF_FLUSH_MS:-200}
$body
YAML
    chmod 644 "$T/haf.yaml"
}

# haf_check_union FIRST LAST GROUP...: entries FIRST..LAST (reboot $HAF_REBOOT) arrived exactly once
# over all the named groups together (a reload may move a stream to another group mid-way).
# Prints per-group counts; exits non-zero on loss or duplicates.
haf_check_union() {
    local first=$1 last=$2
    shift 2
    PYTHONPATH="$FRONT_TOOLS_DIR" python3 - "${HAF_ENDPOINT:-$MOTO_URL}" "${AWS_REGION:-us-east-1}" \
        "$HAF_REBOOT" "$first" "$last" "$@" <<'PY'
import collections, sys
import boto3
import check_delivery as cd
endpoint, region, reboot, first, last = sys.argv[1:3] + [int(a) for a in sys.argv[3:6]]
client = boto3.client("logs", endpoint_url=endpoint, region_name=region)
counts = collections.Counter()
for g in sys.argv[6:]:
    _, events = cd.read_all(client, g, "")
    keys = [cd.entry_key(e["message"]) for _, e in events]
    mine = [k for k in keys if isinstance(k, tuple)]
    print("%s: %d entries, %d markers" % (g, len(mine), keys.count("marker")))
    counts.update(mine)
want = {(reboot, s) for s in range(first, last + 1)}
lost = sorted(want - set(counts))
dups = sorted(k for k, n in counts.items() if n > 1)
print("union: lost %d duplicates %d unexpected %d" % (len(lost), len(dups), len(set(counts) - want)))
if lost or dups:
    print("  lost", lost[:10], "dups", dups[:10])
    sys.exit(1)
PY
}
