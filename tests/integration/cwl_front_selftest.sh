#!/usr/bin/env bash
# cwl_front_selftest.sh: the checking front (tests/tools/cwl_front.py) checks what it claims to.
#
# With SigV4-signed requests (botocore's signer, the front verifying signatures): a valid batch is
# accepted and read back through GetLogEvents (paginated); every PutLogEvents rule is enforced at
# its boundary and flagged as a violation (time order, 24 h span, batch bytes at 1,048,576 and one
# over, 10,000 events and one over, empty message, negative time, bad UTF-8, missing or bad auth
# headers); too-old events come back in rejectedLogEventsInfo; missing streams give
# ResourceNotFoundException, duplicates ResourceAlreadyExistsException; each fault at probability
# 1 gives that fault (throttle, 5xx, skew, expired, reset = not applied, lose = applied but no
# answer, slow, down-until); the stats and the --record file reflect all of it. Then sink mode
# (bounded tail) and, when moto_server is installed, proxy mode (signature checked by moto).
# Bounded: < 20 s.
set -euo pipefail

SRC=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FRONT="$SRC/tests/tools/cwl_front.py"
T=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: botocore missing"; exit 77; }

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

# start_front NAME ARGS...: starts the front, waits for its port file, sets PORT_<NAME>.
start_front() {
    local name=$1
    shift
    python3 "$FRONT" --port-file "$T/$name.port" --max-seconds 60 "$@" \
        >"$T/$name.out" 2>"$T/$name.err" &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        [ -s "$T/$name.port" ] && break
        sleep 0.05
    done
    [ -s "$T/$name.port" ] || { cat "$T/$name.err" >&2; echo "FAIL: $name did not start"; exit 1; }
    printf -v "PORT_$name" '%s' "$(cat "$T/$name.port")"
}

start_front store --credentials "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    --record "$T/record.jsonl" --seed 7
start_front sink --mode sink --keep-tail 3

cat >"$T/client.py" <<'EOF'
import http.client, json, os, socket, sys, time
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDS = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


class Front:
    def __init__(self, port):
        self.port = port

    def call(self, op, body, timeout=5.0, sign=True, headers=None, tamper=False):
        """One request on a fresh connection: (status, headers, parsed body) or an exception."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = "http://127.0.0.1:%d/" % self.port
        h = {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "Logs_20140328." + op}
        req = AWSRequest(method="POST", url=url, data=data, headers=h)
        if sign:
            SigV4Auth(CREDS, "logs", "us-east-1").add_auth(req)
        hdrs = dict(req.headers.items())
        hdrs.update(headers or {})
        if tamper:  # the body that goes out is not the one that was signed
            data = data.replace(b'"x"', b'"y"')
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("POST", "/", body=data, headers=hdrs)
            r = c.getresponse()
            text = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(text or b"{}")
        finally:
            c.close()

    def ok(self, op, body, what):
        st, h, b = self.call(op, body)
        check(st == 200, "%s: status %s %s" % (what, st, b))
        check("x-amzn-requestid" in h, "%s: x-amzn-RequestId missing" % what)
        return b

    def err(self, op, body, etype, what, **kw):
        st, h, b = self.call(op, body, **kw)
        check(st == 400 and b.get("__type") == etype,
              "%s: want 400 %s, got %s %s" % (what, etype, st, b))
        return b

    def stats(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        c.request("GET", "/_front/stats")
        s = json.loads(c.getresponse().read())
        c.close()
        return s

    def faults(self, **kw):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        c.request("POST", "/_front/faults", body=json.dumps(kw))
        r = c.getresponse()
        r.read()
        c.close()
        check(r.status == 200, "setting faults %s" % kw)


def put(ts_msgs, group="/hsm/audit", stream="s1"):
    return {"logGroupName": group, "logStreamName": stream,
            "logEvents": [{"timestamp": t, "message": m} for t, m in ts_msgs]}


def store_tests(f):
    now = int(time.time() * 1000)
    f.ok("CreateLogGroup", {"logGroupName": "/hsm/audit"}, "create group")
    f.err("CreateLogGroup", {"logGroupName": "/hsm/audit"}, "ResourceAlreadyExistsException",
          "duplicate group")
    f.err("PutLogEvents", put([(now, "x")]), "ResourceNotFoundException", "missing stream")
    f.ok("CreateLogStream", {"logGroupName": "/hsm/audit", "logStreamName": "s1"}, "stream")
    f.err("CreateLogStream", {"logGroupName": "/hsm/audit", "logStreamName": "s1"},
          "ResourceAlreadyExistsException", "duplicate stream")
    f.err("CreateLogStream", {"logGroupName": "/nope", "logStreamName": "s1"},
          "ResourceNotFoundException", "stream in missing group")
    f.ok("PutRetentionPolicy", {"logGroupName": "/hsm/audit", "retentionInDays": 365}, "ret")
    s0 = f.stats()
    check(s0["violation_count"] == 0, "no violations yet: %s" % s0["violations"])

    # A valid batch, with escapes and multi-byte text, read back exactly.
    msgs = [(now + i, "entry %d \u00e9\u20ac \"q\" \\ \n\t\x01" % i) for i in range(25)]
    b = f.ok("PutLogEvents", put(msgs), "valid batch")
    check(b == {}, "valid batch answer is {}: %s" % b)
    got, token = [], None
    while True:
        req = {"logGroupName": "/hsm/audit", "logStreamName": "s1", "startFromHead": True,
               "limit": 10}
        if token:
            req["nextToken"] = token
        page = f.ok("GetLogEvents", req, "read back")
        got += [(e["timestamp"], e["message"]) for e in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    check(got == msgs, "read back equals what was sent (%d events)" % len(got))
    newest = f.ok("GetLogEvents", {"logGroupName": "/hsm/audit", "logStreamName": "s1",
                                   "limit": 2}, "newest")
    check([e["message"] for e in newest["events"]] == [msgs[23][1], msgs[24][1]],
          "startFromHead false returns the newest: %s" % newest["events"])
    win = f.ok("GetLogEvents", {"logGroupName": "/hsm/audit", "logStreamName": "s1",
                                "startFromHead": True, "startTime": now + 3,
                                "endTime": now + 5}, "window")
    check([e["timestamp"] for e in win["events"]] == [now + 3, now + 4], "startTime/endTime")
    ds = f.ok("DescribeLogStreams", {"logGroupName": "/hsm/audit"}, "describe")
    check(ds["logStreams"][0]["lastEventTimestamp"] == now + 24, "describe lastEventTimestamp")

    # Every rule at its boundary: the accepted side first, then one past it.
    half = (1048576 - 2 * 26) // 2
    f.ok("PutLogEvents", put([(now, "a" * half), (now, "b" * half)]), "exactly 1,048,576")
    f.err("PutLogEvents", put([(now, "a" * half), (now, "b" * (half + 1))]),
          "InvalidParameterException", "1,048,577 by the formula")
    f.err("PutLogEvents", put([(now, "\u20ac" * 349526)]), "InvalidParameterException",
          "multi-byte message over the per-event cap (bytes, not chars)")
    f.ok("PutLogEvents", put([(now, "m")] * 10000), "10,000 events")
    f.err("PutLogEvents", put([(now, "m")] * 10001), "InvalidParameterException", "10,001")
    f.ok("PutLogEvents", put([(now - 86399999, "old"), (now, "new")]), "span 24 h - 1 ms")
    f.err("PutLogEvents", put([(now - 86400000, "old"), (now, "new")]),
          "InvalidParameterException", "span of exactly 24 h")
    f.err("PutLogEvents", put([(now, "b"), (now - 1, "a")]), "InvalidParameterException",
          "out of order")
    f.err("PutLogEvents", put([(now, "")]), "InvalidParameterException", "empty message")
    f.err("PutLogEvents", put([]), "InvalidParameterException", "empty batch")
    f.err("PutLogEvents", put([(-1, "x")]), "InvalidParameterException", "negative time")
    body = json.dumps(put([(now, "X")])).encode().replace(b"X", b"\xff")
    f.err("PutLogEvents", body, "SerializationException", "invalid UTF-8 body")
    f.err("PutLogEvents", b'{"logGroupName":', "SerializationException", "truncated JSON")
    f.err("PutLogEvents", put([(now, "x")]), "MissingAuthenticationTokenException",
          "unsigned", sign=False)
    f.err("PutLogEvents", put([(now, "x")]), "InvalidSignatureException", "wrong signature",
          tamper=True)
    s1 = f.stats()
    kinds = [v["kind"] for v in s1["violations"]]
    want = ["batch-too-large", "event-too-large", "too-many-events", "time-span", "time-order",
            "empty-message", "empty-batch", "bad-timestamp", "bad-json", "bad-json",
            "no-authorization", "signature-mismatch"]
    check(kinds == want, "violations flagged, in order:\n got  %s\n want %s" % (kinds, want))
    # A too-old event is not an error: CloudWatch drops it and says so.
    b = f.ok("PutLogEvents", put([(now - 15 * 86400000, "ancient"), (now, "fresh")]),
             "too old")
    check(b == {"rejectedLogEventsInfo": {"tooOldLogEventEndIndex": 1}},
          "rejectedLogEventsInfo: %s" % b)
    s2 = f.stats()
    check(s2["violation_count"] == len(want), "no new violations")
    check(s2["rejected_events"]["too_old"] == 1, "too-old counted")
    accepted = 25 + 2 + 10000 + 2 + 1
    check(s2["accepted_events"] == accepted, "accepted %d, want %d" % (
        s2["accepted_events"], accepted))
    check(s2["stream_events"] == {"/hsm/audit": {"s1": accepted}}, "per-stream counts")
    check(s2["cpu_seconds"] > 0, "cpu time reported")

    # Faults at probability 1, one at a time.
    before = f.stats()["accepted_events"]
    f.faults(throttle=1)
    f.err("PutLogEvents", put([(now, "t")]), "ThrottlingException", "throttle")
    f.faults(throttle=0, error5xx=1)
    st, _, b = f.call("PutLogEvents", put([(now, "e")]))
    check(st in (500, 503) and b["__type"] == "ServiceUnavailableException", "5xx: %s" % st)
    f.faults(error5xx=0, skew=1)
    st, h, b = f.call("PutLogEvents", put([(now, "k")]))
    check(st == 400 and b["__type"] == "InvalidSignatureException" and
          b["message"].startswith("Signature expired:") and "date" in h, "skew: %s %s" % (st, b))
    f.faults(skew=0, expired=1)
    f.err("PutLogEvents", put([(now, "x")]), "ExpiredTokenException", "expired token")
    f.faults(expired=0, reset=1)
    try:
        f.call("PutLogEvents", put([(now, "reset-not-applied")]))
        check(False, "reset: got an answer")
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    check(f.stats()["accepted_events"] == before, "reset: request not applied")
    f.faults(reset=0, lose=1)
    try:
        f.call("PutLogEvents", put([(now, "lost-but-applied")]))
        check(False, "lose: got an answer")
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    check(f.stats()["accepted_events"] == before + 1, "lose: request applied")
    f.faults(lose=0, slow=1, slow_seconds=1.0)
    try:
        f.call("PutLogEvents", put([(now, "slow-applied")]), timeout=0.3)
        check(False, "slow: answered before the client timeout")
    except (socket.timeout, TimeoutError):
        pass
    check(f.stats()["accepted_events"] == before + 2, "slow: request applied")
    f.faults(slow=0, down_until=time.time() + 0.6)
    try:
        f.call("PutLogEvents", put([(now, "down")]))
        check(False, "down: got an answer")
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    time.sleep(0.7)
    f.ok("PutLogEvents", put([(now, "back up")]), "after down-until")
    fl = f.stats()["faults"]
    for k in ("throttle", "error5xx", "skew", "expired", "reset", "lose", "slow", "down"):
        check(fl.get(k, 0) >= 1, "fault %s counted: %s" % (k, fl))
    # Faults hit PutLogEvents only unless asked.
    f.faults(throttle=1)
    f.ok("DescribeLogStreams", {"logGroupName": "/hsm/audit"}, "no fault on Describe")
    f.faults(throttle=0)
    check(f.stats()["violation_count"] == len(want), "faults are not violations")
    return accepted + 3


def record_tests(path, want_events):
    lines = [json.loads(l) for l in open(path, encoding="utf-8")]
    check(len(lines) == want_events, "record has %d lines, want %d" % (len(lines), want_events))
    msgs = [l["message"] for l in lines]
    check("lost-but-applied" in msgs and "slow-applied" in msgs, "record: applied faults")
    check("reset-not-applied" not in msgs, "record: reset not applied")
    check(lines[0]["group"] == "/hsm/audit" and lines[0]["stream"] == "s1", "record fields")
    check(msgs[0] == "entry 0 \u00e9\u20ac \"q\" \\ \n\t\x01", "record message exact")


def sink_tests(f):
    now = int(time.time() * 1000)
    f.ok("CreateLogGroup", {"logGroupName": "g"}, "sink group")
    f.ok("CreateLogStream", {"logGroupName": "g", "logStreamName": "s"}, "sink stream")
    f.ok("PutLogEvents", put([(now + i, "m%d" % i) for i in range(5)], "g", "s"), "sink put")
    page = f.ok("GetLogEvents", {"logGroupName": "g", "logStreamName": "s",
                                 "startFromHead": True}, "sink read")
    check([e["message"] for e in page["events"]] == ["m2", "m3", "m4"], "sink keeps the tail")
    s = f.stats()
    check(s["accepted_events"] == 5 and s["mode"] == "sink", "sink counts everything")


def proxy_tests(f, moto_port):
    now = int(time.time() * 1000)
    f.ok("CreateLogGroup", {"logGroupName": "pg"}, "proxy group")
    f.ok("CreateLogStream", {"logGroupName": "pg", "logStreamName": "ps"}, "proxy stream")
    f.ok("PutLogEvents", put([(now, "via proxy \u20ac")], "pg", "ps"), "proxy put")
    f.err("PutLogEvents", put([(now, "b"), (now - 1, "a")], "pg", "ps"),
          "InvalidParameterException", "proxy flags order")
    page = Front(moto_port).ok("GetLogEvents", {"logGroupName": "pg", "logStreamName": "ps",
                                                "startFromHead": True}, "moto read")
    check([e["message"] for e in page["events"]] == ["via proxy \u20ac"], "moto has it once")
    s = f.stats()
    check(s["accepted_events"] == 1 and s["violation_count"] == 1, "proxy stats %s" % s)


what = sys.argv[1]
if what == "store":
    n = store_tests(Front(int(sys.argv[2])))
    record_tests(sys.argv[3], n)
elif what == "sink":
    sink_tests(Front(int(sys.argv[2])))
elif what == "proxy":
    proxy_tests(Front(int(sys.argv[2])), int(sys.argv[3]))
print("%s: %s" % (what, "FAIL" if failures else "ok"))
sys.exit(1 if failures else 0)
EOF

rc=0
python3 "$T/client.py" store "$PORT_store" "$T/record.jsonl" || rc=1
python3 "$T/client.py" sink "$PORT_sink" || rc=1

if command -v moto_server >/dev/null 2>&1; then
    mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    moto_server -H 127.0.0.1 -p "$mport" >"$T/moto.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do
        python3 - "$mport" 2>/dev/null <<'EOF' && break
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
EOF
        sleep 0.1
    done
    start_front proxy --mode proxy --upstream "http://127.0.0.1:$mport"
    python3 "$T/client.py" proxy "$PORT_proxy" "$mport" || rc=1
else
    echo "proxy: skipped (no moto_server)"
fi

if [ "$rc" -ne 0 ]; then
    for f in "$T"/*.err; do
        echo "--- $f"
        tail -n 20 "$f"
    done
fi
exit "$rc"
