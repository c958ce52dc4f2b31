#!/usr/bin/env bash
# logs_reader_moto.sh: the CloudWatch Logs event reader (src/logs_reader.c) against moto_server
# with IAM auth on (tests/tools/moto.sh), through tests/tools/throttle_front.py, which throttles
# the 2nd FilterLogEvents and the 2nd GetLogEvents request and answers 503 to the 1st
# DescribeLogStreams once. A group holds streams hsm-aaa (25 events), hsm-bbb (17) and other-x (5),
# put with the AWS CLI; messages carry U+0000, newlines, backslashes and non-ASCII. test_logs_reader
# reads them as the read-only haf-reader user (FilterLogEvents by prefix and time window, 7 per page;
# DescribeLogStreams then GetLogEvents per stream, 5 per page) and writes what it got; this script
# compares both with what was put (all of hsm-*, inside the window, nothing of other-x), and checks
# that the front really failed the three requests (each retried once by the reader).
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BUILD_DIR:?}"
bin="$HAF_BUILD_DIR/tests/test_logs_reader"
[ -x "$bin" ] || { echo "logs_reader_moto: $bin not built"; exit 1; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
front_pid=
cleanup() {
    if [ -n "$front_pid" ]; then
        kill "$front_pid" 2>/dev/null || true
        wait "$front_pid" 2>/dev/null || true
    fi
    moto_stop
    rm -rf "$work"
}
MOTO_NO_TRAP=1
trap cleanup EXIT
rc=0
moto_start || rc=$?
[ "$rc" -eq 0 ] || { [ "$rc" -eq 77 ] && exit 77; echo "logs_reader_moto: moto_start failed"; exit 1; }

group="haf-lr-$$"
t0=$(( $(date +%s) * 1000 - 600000 ))
moto_aws logs create-log-group --log-group-name "$group"
# Events and the expected lines (stream TAB ts TAB 1 TAB escaped message), window [t0+20, t0+100000).
python3 - "$work" "$t0" <<'PY'
import json, sys
work, t0 = sys.argv[1], int(sys.argv[2])
want = []
for stream, n in (("hsm-aaa", 25), ("hsm-bbb", 17), ("other-x", 5)):
    evs = []
    for i in range(n):
        msg = f"{stream} event {i}"
        if i % 5 == 2:
            msg += " nul\x00byte"
        if i % 5 == 3:
            msg += " line\nbreak \\ back\u00e9\u202e"
        ts = t0 + i * 10
        evs.append({"timestamp": ts, "message": msg})
        if stream.startswith("hsm-") and ts >= t0 + 20:
            esc = msg.replace("\\", "\\\\").replace("\x00", "\\0").replace("\n", "\\n")
            want.append(f"{stream}\t{ts}\t1\t{esc}")
    with open(f"{work}/{stream}.json", "w") as f:
        json.dump(evs, f)
with open(f"{work}/want.txt", "w", encoding="utf-8") as f:
    f.write("\n".join(sorted(want)) + "\n")
PY
for s in hsm-aaa hsm-bbb other-x; do
    moto_aws logs create-log-stream --log-group-name "$group" --log-stream-name "$s"
    moto_aws logs put-log-events --log-group-name "$group" --log-stream-name "$s" \
        --log-events "file://$work/$s.json" >/dev/null
done

python3 "$HAF_SOURCE_DIR/tests/tools/throttle_front.py" --upstream "$MOTO_URL" \
    --fail FilterLogEvents:2:throttle --fail GetLogEvents:2:throttle \
    --fail DescribeLogStreams:1:5xx --port-file "$work/port" --max-seconds 300 >/dev/null &
front_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "logs_reader_moto: throttle_front did not start"; exit 1; }
port=$(cat "$work/port")

export HAF_LR_URL="http://127.0.0.1:$port" HAF_LR_GROUP="$group"
export HAF_LR_START=$((t0 + 20)) HAF_LR_END=$((t0 + 100000))
export HAF_LR_OUT_FILTER="$work/filter.txt" HAF_LR_OUT_STREAMS="$work/streams.txt"
export HAF_WRITER_KEY_ID="$AWS_ACCESS_KEY_ID" HAF_WRITER_SECRET="$AWS_SECRET_ACCESS_KEY"
if ! timeout 240 "$bin" >"$work/test.log" 2>&1; then
    cat "$work/test.log"
    echo "logs_reader_moto: test_logs_reader failed against moto"
    exit 1
fi
if grep -q 'SKIPPED' "$work/test.log"; then
    cat "$work/test.log"; echo "logs_reader_moto: moto cases were skipped"; exit 1
fi
for f in filter streams; do
    LC_ALL=C sort "$work/$f.txt" >"$work/$f.sorted"
    LC_ALL=C sort "$work/want.txt" >"$work/want.sorted"
    if ! diff -u "$work/want.sorted" "$work/$f.sorted"; then
        echo "logs_reader_moto: the $f reader read something else than was put"
        exit 1
    fi
done
n=$(wc -l <"$work/want.sorted")
[ "$n" -eq 38 ] || { echo "logs_reader_moto: expected 38 events in the window, the data has $n"; exit 1; }
failed=$(curl -s --max-time 5 "$HAF_LR_URL/_front/stats" | jq -c '.failed | sort')
want_failed='[["DescribeLogStreams",1,"5xx"],["FilterLogEvents",2,"throttle"],["GetLogEvents",2,"throttle"]]'
[ "$failed" = "$want_failed" ] || { echo "logs_reader_moto: front failed $failed, want $want_failed"; exit 1; }
echo "logs_reader_moto: ok ($n events read both ways over several pages, 3 refused requests retried)"
