#!/usr/bin/env python3
"""cwl_front.py: the "checking front", a minimal faithful CloudWatch Logs on 127.0.0.1 for tests.

The daemon talks to this instead of CloudWatch. Every request is checked against the documented
rules (docs/cloudwatch-limits.md sections 1, 2 and 4) and every deviation is recorded
as a violation, so a test can assert "every request the daemon sent was valid" and, with --record,
"every entry arrived exactly once".

Modes:
  store (default)  a small CloudWatch Logs in memory: CreateLogGroup, CreateLogStream,
                   PutRetentionPolicy, DeleteRetentionPolicy, DescribeLogGroups,
                   DescribeLogStreams, PutLogEvents, GetLogEvents (startFromHead, startTime,
                   endTime, limit, nextToken), with CloudWatch's error answers.
  sink             the same, but each stream keeps only its newest --keep-tail events (default
                   10000, enough for the daemon's read-back), for benchmarks.
  proxy            every request is checked, then forwarded byte for byte (headers included, so
                   moto's SigV4 check still works) to --upstream, and moto's answer relayed.

Checks on every request: POST /, Content-Type application/x-amz-json-1.1, X-Amz-Target
Logs_20140328.<Op>, X-Amz-Date (and within --max-skew of our clock, as AWS's 5 minutes),
Authorization "AWS4-HMAC-SHA256 Credential=.../<date>/<region>/logs/aws4_request,
SignedHeaders=...,Signature=<64 hex>" signing at least content-type;host;x-amz-date;x-amz-target
(and x-amz-security-token when sent); with --credentials AKID:SECRET the signature itself is
verified. With --credentials-file F (JSON lines {"AccessKeyId", "SecretAccessKey", "Token",
"Expiration": epoch seconds}, as imds_server.py --issued-file writes them; re-read when it
changes) any key listed is accepted: the signature is verified with its secret, the session token
must be the one issued with it (else UnrecognizedClientException, a violation), and a key used
after its expiration gets ExpiredTokenException, counted as "expired_key_uses" (not a violation:
a request signed just before the expiration may arrive just after it). PutLogEvents: valid UTF-8 JSON; names by the model's patterns; 1..10,000 events;
each {"timestamp": int >= 0, "message": non-empty string}; each message <= 1,048,550 UTF-8 bytes
(1 MiB per event, but the batch formula makes 1,048,576 - 26 the binding cap); sum of (UTF-8
bytes + 26) <= 1,048,576; timestamps non-decreasing; newest - oldest < 24 h among the events
CloudWatch keeps (the strict reading, as Fluent Bit). Events over 2 h in the future, over 14 days
old or older than the group's retention are not errors: as CloudWatch does, they are dropped and
reported in rejectedLogEventsInfo. A violation is answered as CloudWatch would (400 and the AWS
error type) and appended to the stats. The --record file has one JSON line per accepted event: group, stream,
arrived (epoch ms by our clock), timestamp, message.

Request bodies are bounded (--max-body, default 8 MiB): the byte formula counts unescaped
messages, and a batch that keeps to it can serialize to about 6.3 MB in the worst case (every
byte a \\u00XX escape), so 4 MiB would refuse valid batches. Bodies over 1 MiB are counted
("bodies_over_1mib") so a test can see them.

Faults (each a probability per request, drawn from one seeded RNG, first hit wins; by default
only PutLogEvents is faulted, --fault-all-ops for every operation):
  --reset P     close the connection (RST) before answering; the request is NOT applied
  --throttle P  400 ThrottlingException "Rate exceeded"
  --error5xx P  500 or 503 ServiceUnavailableException
  --skew P      400 InvalidSignatureException "Signature expired: ..." with a Date header
  --expired P   400 ExpiredTokenException
  --lose P      apply the request (store / forward), then drop the connection unanswered
  --slow P      apply, then answer after --slow-seconds (past the client's timeout)
  --down-until EPOCH  close every connection unread until then (also POST /_front/faults)
  --down-seconds N    the same, until N seconds after the front starts listening (a window that
                      a slow interpreter start on a loaded machine cannot eat into)
  --clock-offset S  our clock runs S seconds ahead (negative: behind) of the host's, for the
                X-Amz-Date skew check, the "Signature expired" message and the Date header, so
                a client that signs with its own clock is refused until it corrects from Date
                (also POST /_front/faults {"clock_offset": S})

Targeted faults (POST /_front/targeted, a JSON object; only for streams whose name contains
"stream", every other stream unaffected; "" is every request, with a stream name or not):
  {"stream": S, "stall_ops": [OP, ...], "stall_until": EPOCH}  requests of those operations
                arriving before EPOCH are held until EPOCH, then applied and answered (the client
                has usually given up by then): an endpoint that stalls
  {"stream": S, "lose_puts": N}  the next N PutLogEvents are applied, then the connection is
                dropped unanswered (the client must read back)
Counted in the stats as "stalled" and "lost_targeted".

Control endpoints (no auth): GET /_front/stats (JSON counters: requests, by operation,
accepted/rejected events, violations, faults by kind, per-stream event counts, our CPU time from
getrusage so benchmarks can show the front is not the bottleneck); POST /_front/faults with a
JSON object of the fault options above (names as in the options, down_until included) to change
them while running; POST /_front/reset-stats; GET /_front/health.

  cwl_front.py [--mode store|sink|proxy] [--upstream URL] [--port N] [--port-file F]
               [--record FILE] [--seed N] [fault options] [--max-seconds S]

Prints "PORT <n>" on stdout once listening (and writes it to --port-file, atomically). Exits
after --max-seconds (default 1800; 0 = never) so a crashed test cannot leave it behind.
"""
import argparse
import base64
import collections
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import operator
import os
import random
import re
import resource
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import orjson

    def json_loads(b):
        return orjson.loads(b)

except ImportError:  # the standard library is enough, only slower
    orjson = None

    def json_loads(b):
        return json.loads(b.decode("utf-8"))


MAX_EVENTS = 10000
MAX_BATCH_BYTES = 1048576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = min(1048576, MAX_BATCH_BYTES - EVENT_OVERHEAD)
MAX_SPAN_MS = 24 * 3600 * 1000
TOO_NEW_MS = 2 * 3600 * 1000
TOO_OLD_MS = 14 * 24 * 3600 * 1000
GETLOGEVENTS_MAX_BYTES = 1048576
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653}
GROUP_RE = re.compile(r"[\.\-_/#A-Za-z0-9]+\Z")
AMZ_DATE_RE = re.compile(r"(\d{8})T(\d{6})Z\Z")
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,"
    r"\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})\Z")
TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_VIOLATIONS_KEPT = 1000
FAULT_KINDS = ("reset", "throttle", "error5xx", "skew", "expired", "lose", "slow")
GET_TS = operator.itemgetter("timestamp")
GET_MSG = operator.itemgetter("message")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade"}


class ApiError(Exception):
    """An answer CloudWatch would give: HTTP status, __type, message."""

    def __init__(self, status, etype, message, violation=None):
        super().__init__(message)
        self.status = status
        self.etype = etype
        self.message = message
        self.violation = violation  # kind string when the client broke a rule


def now_ms():
    return int(time.time() * 1000)


class Stream:
    __slots__ = ("name", "created", "events", "sorted", "first_ts", "last_ts", "last_ingest",
                 "count")

    def __init__(self, name, keep):
        self.name = name
        self.created = now_ms()
        self.events = collections.deque(maxlen=keep) if keep else []
        self.sorted = True
        self.first_ts = None
        self.last_ts = None
        self.last_ingest = None
        self.count = 0

    def view(self):
        """The stored events in CloudWatch's order: by timestamp, then arrival."""
        if not self.sorted:
            evs = sorted(self.events, key=lambda e: e[0])
            if isinstance(self.events, list):
                self.events = evs
            else:
                self.events = collections.deque(evs, maxlen=self.events.maxlen)
            self.sorted = True
            return evs
        return self.events if isinstance(self.events, list) else list(self.events)


class Group:
    __slots__ = ("name", "created", "retention", "streams", "kms", "cls", "protected", "tags")

    def __init__(self, name):
        self.name = name
        self.created = now_ms()
        self.retention = None
        self.streams = {}
        self.kms = None
        self.cls = "STANDARD"
        self.protected = False
        self.tags = {}


class Front:
    """Shared state: the store, the counters, the fault settings, the record file."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.targeted = None
        self.groups = {}
        self.keep = args.keep_tail if args.mode == "sink" else 0
        self.rng = random.Random(args.seed)
        self.faults = {k: float(getattr(args, k)) for k in FAULT_KINDS}
        self.faults["slow_seconds"] = float(args.slow_seconds)
        self.faults["down_until"] = float(args.down_until or 0)
        if args.down_seconds:
            self.faults["down_until"] = time.time() + args.down_seconds
        self.faults["clock_offset"] = float(args.clock_offset)
        self.fault_all_ops = args.fault_all_ops
        self.record = open(args.record, "a", encoding="utf-8") if args.record else None
        self.record_lock = threading.Lock()
        self.credentials = None
        self.cred_file_keys = {}
        self.cred_file_sig = None
        if args.credentials:
            akid, _, secret = args.credentials.partition(":")
            self.credentials = (akid, secret)
        self.started = time.time()
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.st = {
                "requests": 0, "requests_by_op": collections.Counter(), "connections": 0,
                "refused_connections": 0, "accepted_requests": 0, "accepted_events": 0,
                "rejected_events": {"too_new": 0, "too_old": 0, "expired": 0},
                "violation_count": 0, "violations": [], "faults": collections.Counter(),
                "errors_by_type": collections.Counter(), "bytes_received": 0,
                "max_body_bytes": 0, "bodies_over_1mib": 0, "max_events_in_request": 0,
                "stream_events": {}, "expired_key_uses": 0, "keys_used": set(),
                "stalled": 0, "lost_targeted": 0,
            }

    def violation(self, kind, detail, op=None, group=None, stream=None):
        with self.lock:
            self.st["violation_count"] += 1
            if len(self.st["violations"]) < MAX_VIOLATIONS_KEPT:
                self.st["violations"].append({"kind": kind, "detail": detail[:500], "op": op,
                                              "group": group, "stream": stream,
                                              "time": round(time.time(), 3)})
        if self.args.verbose:
            log("violation %s: %s" % (kind, detail[:200]))

    def _targets(self, req):
        t = self.targeted
        name = req.get("logStreamName") if isinstance(req, dict) else None
        if t and t["stream"] == "":
            return t  # every request, also those without a stream (CreateLogGroup, ...)
        return t if t and isinstance(name, str) and t["stream"] in name else None

    def targeted_stall(self, op, req):
        """Epoch until which this request is held (0: not held)."""
        with self.lock:
            t = self._targets(req)
            if t and op in t["stall_ops"] and time.time() < t["stall_until"]:
                self.st["stalled"] += 1
                return t["stall_until"]
        return 0

    def targeted_lose(self, op, req):
        with self.lock:
            t = self._targets(req)
            if t and op == "PutLogEvents" and t["lose_puts"] > 0:
                t["lose_puts"] -= 1
                self.st["lost_targeted"] += 1
                return True
        return False

    def draw_fault(self, op, phase):
        """Which fault (if any) this request gets; phase 'pre' or 'post' (after applying)."""
        if op != "PutLogEvents" and not self.fault_all_ops:
            return None
        kinds = ("reset", "throttle", "error5xx", "skew", "expired") if phase == "pre" else (
            "lose", "slow")
        with self.lock:
            for k in kinds:
                p = self.faults[k]
                if p > 0 and self.rng.random() < p:
                    self.st["faults"][k] += 1
                    return k
        return None

    def stats(self):
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with self.lock:
            out = dict(self.st)
            out["requests_by_op"] = dict(self.st["requests_by_op"])
            out["faults"] = dict(self.st["faults"])
            out["errors_by_type"] = dict(self.st["errors_by_type"])
            out["rejected_events"] = dict(self.st["rejected_events"])
            out["violations"] = list(self.st["violations"])
            out["stream_events"] = {g: dict(s) for g, s in self.st["stream_events"].items()}
            out["keys_used"] = len(self.st["keys_used"])
            out["groups"] = {n: {"class": g.cls, "deletion_protection": g.protected,
                                 "tags": g.tags, "kms": g.kms, "retention": g.retention}
                             for n, g in self.groups.items()}
            out["fault_settings"] = dict(self.faults)
        out["mode"] = self.args.mode
        out["cpu_user_seconds"] = ru.ru_utime
        out["cpu_system_seconds"] = ru.ru_stime
        out["cpu_seconds"] = ru.ru_utime + ru.ru_stime
        out["max_rss_kib"] = ru.ru_maxrss
        out["uptime_seconds"] = round(time.time() - self.started, 3)
        return out

    def file_credentials(self, akid):
        """(secret, token, expiration) of a key from --credentials-file, or None."""
        path = self.args.credentials_file
        try:
            st = os.stat(path)
            sig = (st.st_mtime_ns, st.st_size)
        except OSError:
            sig = None
        with self.lock:
            if sig != self.cred_file_sig:
                keys = {}
                try:
                    with open(path, encoding="utf-8") as f:
                        for line in f:
                            if line.endswith("\n"):
                                c = json.loads(line)
                                keys[c["AccessKeyId"]] = (c["SecretAccessKey"], c.get("Token"),
                                                          float(c["Expiration"]))
                except OSError:
                    pass
                self.cred_file_keys, self.cred_file_sig = keys, sig
            return self.cred_file_keys.get(akid)

    # ---- operations (store and sink modes) ----

    def group_of(self, req, required=True):
        name = req.get("logGroupName")
        ident = req.get("logGroupIdentifier")
        if name is not None and ident is not None:
            raise ApiError(400, "InvalidParameterException",
                           "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
                           "both-group-name-and-identifier")
        if ident is not None:
            name = ident.split(":log-group:", 1)[1].split(":", 1)[0] if ":log-group:" in str(
                ident) else ident
        if not isinstance(name, str) or not name:
            if not required:
                return None
            raise ApiError(400, "InvalidParameterException",
                           "1 validation error detected: Value null at 'logGroupName' failed to "
                           "satisfy constraint: Member must not be null", "missing-group-name")
        check_group_name(name)
        g = self.groups.get(name)
        if g is None:
            raise ApiError(400, "ResourceNotFoundException",
                           "The specified log group does not exist.")
        return g

    def op_CreateLogGroup(self, req):
        name = req.get("logGroupName")
        if not isinstance(name, str):
            raise ApiError(400, "InvalidParameterException", "logGroupName is required",
                           "missing-group-name")
        check_group_name(name)
        if name.startswith("aws/"):
            raise ApiError(400, "InvalidParameterException",
                           "Log group names can't start with the string aws/",
                           "group-name-aws-prefix")
        kms = req.get("kmsKeyId")
        if kms is not None and (not isinstance(kms, str) or len(kms) > 256):
            raise ApiError(400, "InvalidParameterException", "Invalid kmsKeyId", "bad-kms-key")
        newer = [k for k in ("logGroupClass", "deletionProtectionEnabled") if k in req]
        if newer and self.args.legacy_log_groups:
            # An endpoint from before these members: AWS's JSON protocol refuses unknown fields.
            raise ApiError(400, "SerializationException", "Unrecognized field '%s'" % newer[0])
        cls = req.get("logGroupClass", "STANDARD")
        if cls not in ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY"):
            raise ApiError(400, "InvalidParameterException", "Invalid logGroupClass", "bad-class")
        protected = req.get("deletionProtectionEnabled", False)
        if not isinstance(protected, bool):
            raise ApiError(400, "SerializationException", "deletionProtectionEnabled must be a "
                           "boolean", "bad-deletion-protection")
        tags = req.get("tags", {})
        if not isinstance(tags, dict) or (("tags" in req) and not 1 <= len(tags) <= 50) or any(
                not isinstance(v, str) or not 1 <= len(k) <= 128 or len(v) > 256
                for k, v in tags.items()):
            raise ApiError(400, "InvalidParameterException", "Invalid tags", "bad-tags")
        with self.lock:
            if name in self.groups:
                raise ApiError(400, "ResourceAlreadyExistsException",
                               "The specified log group already exists")
            g = Group(name)
            g.kms = kms
            g.cls, g.protected, g.tags = cls, protected, dict(tags)
            self.groups[name] = g
        return {}

    def op_CreateLogStream(self, req):
        sname = req.get("logStreamName")
        check_stream_name(sname)
        with self.lock:
            g = self.group_of(req)
            if sname in g.streams:
                raise ApiError(400, "ResourceAlreadyExistsException",
                               "The specified log stream already exists")
            g.streams[sname] = Stream(sname, self.keep)
        return {}

    def op_PutRetentionPolicy(self, req):
        days = req.get("retentionInDays")
        if not isinstance(days, int) or isinstance(days, bool) or days not in RETENTION_DAYS:
            raise ApiError(400, "InvalidParameterException",
                           "1 validation error detected: Value '%s' at 'retentionInDays' failed "
                           "to satisfy constraint: Member must satisfy enum value set" % (days,),
                           "bad-retention")
        with self.lock:
            self.group_of(req).retention = days
        return {}

    def op_DeleteRetentionPolicy(self, req):
        with self.lock:
            self.group_of(req).retention = None
        return {}

    def op_DescribeLogGroups(self, req):
        prefix = req.get("logGroupNamePrefix") or ""
        limit = req.get("limit", 50)
        start = decode_index_token(req.get("nextToken"))
        with self.lock:
            names = sorted(n for n in self.groups if n.startswith(prefix))
            page = names[start:start + limit]
            out = {"logGroups": [{
                "logGroupName": n, "creationTime": self.groups[n].created,
                "retentionInDays": self.groups[n].retention, "metricFilterCount": 0,
                "arn": "arn:aws:logs:us-east-1:123456789012:log-group:%s:*" % n,
                "storedBytes": 0, "logGroupClass": self.groups[n].cls,
                "deletionProtectionEnabled": self.groups[n].protected} for n in page]}
            for lg in out["logGroups"]:
                if self.groups[lg["logGroupName"]].kms:
                    lg["kmsKeyId"] = self.groups[lg["logGroupName"]].kms
            for lg in out["logGroups"]:
                if lg["retentionInDays"] is None:
                    del lg["retentionInDays"]
        if start + limit < len(names):
            out["nextToken"] = encode_index_token(start + limit)
        return out

    def op_DescribeLogStreams(self, req):
        prefix = req.get("logStreamNamePrefix")
        order = req.get("orderBy", "LogStreamName")
        desc = bool(req.get("descending", False))
        limit = req.get("limit", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            raise ApiError(400, "InvalidParameterException", "limit must be 1..50", "bad-limit")
        if order not in ("LogStreamName", "LastEventTime"):
            raise ApiError(400, "InvalidParameterException", "bad orderBy", "bad-order-by")
        if prefix and order == "LastEventTime":
            raise ApiError(400, "InvalidParameterException",
                           "Cannot order by LastEventTime with a logStreamNamePrefix.",
                           "prefix-with-last-event-time")
        start = decode_index_token(req.get("nextToken"))
        with self.lock:
            g = self.group_of(req)
            streams = [s for s in g.streams.values() if not prefix or s.name.startswith(prefix)]
            if order == "LogStreamName":
                streams.sort(key=lambda s: s.name, reverse=desc)
            else:
                streams.sort(key=lambda s: s.last_ts or 0, reverse=desc)
            page = streams[start:start + limit]
            out = {"logStreams": []}
            for s in page:
                d = {"logStreamName": s.name, "creationTime": s.created,
                     "arn": "arn:aws:logs:us-east-1:123456789012:log-group:%s:log-stream:%s" % (
                         g.name, s.name), "storedBytes": 0}
                if s.first_ts is not None:
                    d["firstEventTimestamp"] = s.first_ts
                    d["lastEventTimestamp"] = s.last_ts
                    d["lastIngestionTime"] = s.last_ingest
                out["logStreams"].append(d)
        if start + limit < len(streams):
            out["nextToken"] = encode_index_token(start + limit)
        return out

    def op_GetLogEvents(self, req):
        sname = req.get("logStreamName")
        check_stream_name(sname)
        limit = req.get("limit", MAX_EVENTS)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_EVENTS:
            raise ApiError(400, "InvalidParameterException", "limit must be 1..10000",
                           "bad-limit")
        start_time = req.get("startTime")
        end_time = req.get("endTime")
        head = bool(req.get("startFromHead", False))
        token = req.get("nextToken")
        with self.lock:
            g = self.group_of(req)
            s = g.streams.get(sname)
            if s is None:
                raise ApiError(400, "ResourceNotFoundException",
                               "The specified log stream does not exist.")
            evs = s.view()
        if start_time is not None or end_time is not None:
            lo = start_time if start_time is not None else -(1 << 62)
            hi = end_time if end_time is not None else (1 << 62)
            evs = [e for e in evs if lo <= e[0] < hi]
        n = len(evs)
        if token is not None:
            direction, idx = parse_event_token(token)
            idx = max(0, min(idx, n))
            if direction == "f" and not head:
                raise ApiError(400, "InvalidParameterException",
                               "startFromHead must be true when passing a nextForwardToken",
                               "forward-token-without-start-from-head")
        else:
            direction, idx = ("f", 0) if head else ("b", n)
        if direction == "f":
            lo, hi, size = idx, idx, 0
            while hi < n and hi - lo < limit:
                size += len(evs[hi][1].encode("utf-8")) + EVENT_OVERHEAD
                if size > GETLOGEVENTS_MAX_BYTES and hi > lo:
                    break
                hi += 1
        else:
            lo, hi, size = idx, idx, 0
            while lo > 0 and hi - lo < limit:
                size += len(evs[lo - 1][1].encode("utf-8")) + EVENT_OVERHEAD
                if size > GETLOGEVENTS_MAX_BYTES and hi > lo:
                    break
                lo -= 1
        return {
            "events": [{"timestamp": e[0], "message": e[1], "ingestionTime": e[2]}
                       for e in evs[lo:hi]],
            "nextForwardToken": "f/%056d" % hi,
            "nextBackwardToken": "b/%056d" % lo,
        }

    def check_put(self, req):
        """Validate a PutLogEvents request; returns (group name, stream name, events)."""
        gname = req.get("logGroupName")
        sname = req.get("logStreamName")
        if not isinstance(gname, str):
            raise ApiError(400, "InvalidParameterException", "logGroupName is required",
                           "missing-group-name")
        check_group_name(gname)
        check_stream_name(sname)
        evs = req.get("logEvents")
        if not isinstance(evs, list):
            raise ApiError(400, "InvalidParameterException",
                           "1 validation error detected: Value null at 'logEvents' failed to "
                           "satisfy constraint: Member must not be null", "missing-log-events")
        n = len(evs)
        if n < 1:
            raise ApiError(400, "InvalidParameterException",
                           "1 validation error detected: Value '[]' at 'logEvents' failed to "
                           "satisfy constraint: Member must have length greater than or equal "
                           "to 1", "empty-batch")
        if n > MAX_EVENTS:
            raise ApiError(400, "InvalidParameterException",
                           "1 validation error detected: Value at 'logEvents' failed to satisfy "
                           "constraint: Member must have length less than or equal to 10000 "
                           "(got %d)" % n, "too-many-events")
        extra = set(req) - {"logGroupName", "logStreamName", "logEvents", "sequenceToken",
                            "entity"}
        if extra:
            raise ApiError(400, "SerializationException",
                           "Unexpected field(s): %s" % ",".join(sorted(extra)), "unknown-field")
        tok = req.get("sequenceToken")
        if tok is not None and (not isinstance(tok, str) or not tok):
            raise ApiError(400, "InvalidParameterException", "bad sequenceToken",
                           "bad-sequence-token")
        # Fast path: every check with C-level builtins (the sink must keep up with the daemon).
        # On any doubt, the slow loop below finds the first offending event and says why.
        try:
            if set(map(type, evs)) == {dict} and set(map(len, evs)) == {2}:
                ts = list(map(GET_TS, evs))
                ms = list(map(GET_MSG, evs))
                if set(map(type, ts)) == {int} and set(map(type, ms)) == {str} and \
                        min(ts) >= 0 and ts == sorted(ts):
                    if all(map(str.isascii, ms)):  # O(1) each in CPython; bytes == chars
                        lens = list(map(len, ms))
                    else:
                        lens = list(map(len, map(str.encode, ms)))
                    total = sum(lens) + EVENT_OVERHEAD * n
                    if min(lens) >= 1 and max(lens) <= MAX_EVENT_BYTES:
                        if total > MAX_BATCH_BYTES:
                            raise ApiError(400, "InvalidParameterException",
                                           "Upload too large: %d bytes exceeds limit of %d" % (
                                               total, MAX_BATCH_BYTES), "batch-too-large")
                        return gname, sname, ts, ms
        except (KeyError, UnicodeEncodeError):
            pass
        self.check_put_slow(evs)
        raise ApiError(400, "SerializationException", "logEvents malformed", "bad-event-shape")

    @staticmethod
    def check_put_slow(evs):
        """Raise the precise error for the first bad event (the fast path said there is one)."""
        total = 0
        prev = None
        for i, e in enumerate(evs):
            if not isinstance(e, dict) or set(e) != {"timestamp", "message"}:
                raise ApiError(400, "SerializationException",
                               "logEvents.%d must be {timestamp, message}" % (i + 1),
                               "bad-event-shape")
            ts, m = e["timestamp"], e["message"]
            if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
                raise ApiError(400, "InvalidParameterException",
                               "1 validation error detected: Value '%s' at 'logEvents.%d.member."
                               "timestamp' failed to satisfy constraint: Member must have value "
                               "greater than or equal to 0" % (ts, i + 1), "bad-timestamp")
            if not isinstance(m, str):
                raise ApiError(400, "SerializationException",
                               "logEvents.%d.message must be a string" % (i + 1),
                               "bad-message-type")
            try:
                nb = len(m.encode("utf-8"))
            except UnicodeEncodeError:
                raise ApiError(400, "SerializationException",
                               "logEvents.%d.message is not valid Unicode (lone surrogate)" % (
                                   i + 1), "lone-surrogate")
            if nb == 0:
                raise ApiError(400, "InvalidParameterException",
                               "1 validation error detected: Value '' at 'logEvents.%d.member."
                               "message' failed to satisfy constraint: Member must have length "
                               "greater than or equal to 1" % (i + 1), "empty-message")
            if nb > MAX_EVENT_BYTES:
                raise ApiError(400, "InvalidParameterException",
                               "Log event too large: %d bytes exceeds limit of %d" % (
                                   nb, MAX_EVENT_BYTES), "event-too-large")
            if prev is not None and ts < prev:
                raise ApiError(400, "InvalidParameterException",
                               "Log events in a single PutLogEvents request must be in "
                               "chronological order. (event %d: %d < %d)" % (i, ts, prev),
                               "time-order")
            prev = ts
            total += nb + EVENT_OVERHEAD
        if total > MAX_BATCH_BYTES:
            raise ApiError(400, "InvalidParameterException",
                           "Upload too large: %d bytes exceeds limit of %d" % (
                               total, MAX_BATCH_BYTES), "batch-too-large")

    def plan_put(self, ts, retention):
        """Partial rejection (section 2.6) and the 24 h rule over the events CloudWatch keeps.
        Too old / expired is a prefix of the sorted batch, too new a suffix. Returns
        (keep_lo, keep_hi, rejectedLogEventsInfo, counts)."""
        now = now_ms()
        n = len(ts)
        old_end = 0
        while old_end < n and ts[old_end] < now - TOO_OLD_MS:
            old_end += 1
        exp_end = 0
        if retention is not None:
            while exp_end < n and ts[exp_end] < now - retention * 86400000:
                exp_end += 1
        new_start = n
        while new_start > 0 and ts[new_start - 1] > now + TOO_NEW_MS:
            new_start -= 1
        lo, hi = max(old_end, exp_end), new_start
        if lo < hi and ts[hi - 1] - ts[lo] >= MAX_SPAN_MS:
            raise ApiError(400, "InvalidParameterException",
                           "The batch of log events in a single PutLogEvents request cannot span "
                           "more than 24 hours. (%d ms)" % (ts[hi - 1] - ts[lo]), "time-span")
        info = {}
        if new_start < n:
            info["tooNewLogEventStartIndex"] = new_start
        if old_end > 0:
            info["tooOldLogEventEndIndex"] = old_end
        if exp_end > 0:
            info["expiredLogEventEndIndex"] = exp_end
        counts = {"too_new": n - new_start, "too_old": old_end,
                  "expired": max(0, exp_end - old_end)}
        return lo, max(lo, hi), info, counts

    def count_accepted(self, gname, sname, n, kept, counts):
        with self.lock:
            self.st["accepted_requests"] += 1
            self.st["accepted_events"] += kept
            self.st["max_events_in_request"] = max(self.st["max_events_in_request"], n)
            rej = self.st["rejected_events"]
            for k, v in counts.items():
                rej[k] += v
            per = self.st["stream_events"].setdefault(gname, {})
            per[sname] = per.get(sname, 0) + kept

    def validate_put(self, req):
        """Every PutLogEvents rule, before any fault is drawn, so no violation goes unseen."""
        gname, sname, ts, ms = self.check_put(req)
        retention = None
        if self.args.mode != "proxy":
            with self.lock:
                g = self.groups.get(gname)
                retention = g.retention if g is not None else None
        lo, hi, info, counts = self.plan_put(ts, retention)
        return gname, sname, ts, ms, lo, hi, info, counts

    def op_PutLogEvents(self, req, checked=None):
        gname, sname, ts, ms, lo, hi, info, counts = checked or self.validate_put(req)
        with self.lock:
            g = self.groups.get(gname)
            if g is None:
                raise ApiError(400, "ResourceNotFoundException",
                               "The specified log group does not exist.")
            s = g.streams.get(sname)
            if s is None:
                raise ApiError(400, "ResourceNotFoundException",
                               "The specified log stream does not exist.")
        now = now_ms()
        if lo < hi:
            kts, kms = (ts, ms) if (lo, hi) == (0, len(ts)) else (ts[lo:hi], ms[lo:hi])
            with self.lock:
                if s.last_ts is not None and kts[0] < s.last_ts:
                    s.sorted = False
                s.events.extend(zip(kts, kms, itertools.repeat(now)))
                if s.first_ts is None or kts[0] < s.first_ts:
                    s.first_ts = kts[0]
                if s.last_ts is None or kts[-1] > s.last_ts:
                    s.last_ts = kts[-1]
                s.last_ingest = now
                s.count += len(kts)
            self.record_events(gname, sname, kts, kms)
        self.count_accepted(gname, sname, len(ts), hi - lo, counts)
        return {"rejectedLogEventsInfo": info} if info else {}

    def record_events(self, gname, sname, ts, ms):
        if self.record is None or not ts:
            return
        # "arrived": when the front accepted it (epoch ms, the front's own clock), for latency.
        head = '{"group":%s,"stream":%s,"arrived":%d,"timestamp":' % (
            json.dumps(gname), json.dumps(sname), int(time.time() * 1000))
        lines = "".join('%s%d,"message":%s}\n' % (head, t, json.dumps(m))
                        for t, m in zip(ts, ms))
        with self.record_lock:
            self.record.write(lines)
            self.record.flush()


def check_group_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 512 or not GROUP_RE.match(name):
        raise ApiError(400, "InvalidParameterException",
                       "1 validation error detected: Value '%s' at 'logGroupName' failed to "
                       "satisfy constraint: Member must satisfy regular expression pattern: "
                       "[\\.\\-_/#A-Za-z0-9]+" % (str(name)[:80],), "bad-group-name")


def check_stream_name(name):
    if not isinstance(name, str) or not 1 <= len(name) <= 512 or ":" in name or "*" in name:
        raise ApiError(400, "InvalidParameterException",
                       "1 validation error detected: Value '%s' at 'logStreamName' failed to "
                       "satisfy constraint: Member must satisfy regular expression pattern: "
                       "[^:*]*" % (str(name)[:80],), "bad-stream-name")


def encode_index_token(i):
    return base64.b64encode(("idx:%d" % i).encode()).decode()


def decode_index_token(tok):
    if tok is None:
        return 0
    try:
        s = base64.b64decode(tok.encode(), validate=True).decode()
        if s.startswith("idx:"):
            return max(0, int(s[4:]))
    except (ValueError, UnicodeDecodeError, AttributeError):
        pass
    raise ApiError(400, "InvalidParameterException", "The specified nextToken is invalid.",
                   "bad-next-token")


def parse_event_token(tok):
    if isinstance(tok, str) and len(tok) > 2 and tok[0] in "fb" and tok[1] == "/" and \
            tok[2:].isdigit():
        return tok[0], int(tok[2:])
    raise ApiError(400, "InvalidParameterException", "The specified nextToken is invalid.",
                   "bad-next-token")


def sigv4_check(headers, body, akid, secret, signed, sig, date, region, service):
    """Recompute the SigV4 signature of POST / (cwl-api.md section 4); True when it matches."""
    canon_headers = []
    for name in signed.split(";"):
        vals = headers.get_all(name) or []
        v = ",".join(" ".join(x.strip().split()) for x in vals)
        canon_headers.append("%s:%s\n" % (name, v))
    creq = "\n".join(["POST", "/", "", "".join(canon_headers), signed,
                      hashlib.sha256(body).hexdigest()])
    amz_date = headers.get("X-Amz-Date", "")
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig)


def log(msg):
    sys.stderr.write("cwl_front: %s\n" % msg)
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cwl-front"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the client's
    # delayed ACK stalls every answer by ~40 ms.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        if timestamp is None:
            timestamp = time.time() + self.server.front.faults["clock_offset"]
        return super().date_time_string(timestamp)

    def log_message(self, fmt, *a):  # noqa: N802 (stdlib name)
        if self.server.front.args.verbose:
            log(fmt % a)

    def setup(self):
        super().setup()
        self.upstream = None

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    # ---- plumbing ----

    def read_body(self):
        """The request body, or None after answering (too big, bad framing)."""
        front = self.server.front
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if te == "chunked":
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.plain_error(400, "bad chunk")
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > front.args.max_body:
                    front.violation("body-too-large", "chunked body over %d" % front.args.max_body)
                    self.plain_error(413, "request too large")
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(parts)
        cl = self.headers.get("Content-Length")
        if cl is None:
            if self.command == "GET":
                return b""
            front.violation("no-content-length", "POST without Content-Length")
            self.plain_error(411, "length required")
            return None
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.plain_error(400, "bad Content-Length")
            return None
        if n > front.args.max_body:
            front.violation("body-too-large", "Content-Length %d over %d" % (
                n, front.args.max_body))
            self.plain_error(413, "request too large")
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            return None
        return body

    def plain_error(self, status, text):
        self.close_connection = True
        self.send_json(status, {"__type": "SerializationException", "message": text})

    def send_json(self, status, obj, etype=None, extra_headers=()):
        data = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if etype:
            self.send_header("X-Amzn-Errortype", etype)
        for k, v in extra_headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def send_api_error(self, err, extra_headers=()):
        with self.server.front.lock:
            self.server.front.st["errors_by_type"][err.etype] += 1
        self.send_json(err.status, {"__type": err.etype, "message": err.message}, err.etype,
                       extra_headers)

    def drop(self, rst):
        """Close without answering; RST when asked (a reset), else a plain close."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ---- HTTP methods ----

    def do_GET(self):  # noqa: N802
        front = self.server.front
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_front/stats":
            self.send_json(200, front.stats())
        elif path == "/_front/health":
            self.send_json(200, {"ok": True})
        else:
            front.violation("bad-method", "GET %s" % self.path[:100])
            self.send_json(404, {"__type": "UnknownOperationException", "message": "GET"})

    def do_POST(self):  # noqa: N802
        front = self.server.front
        path = urllib.parse.urlsplit(self.path).path
        body = self.read_body()
        if body is None:
            return
        if path.startswith("/_front/"):
            return self.control(path, body)
        if time.time() < front.faults["down_until"]:
            with front.lock:
                front.st["faults"]["down"] += 1
            return self.drop(rst=True)
        with front.lock:
            front.st["requests"] += 1
            front.st["bytes_received"] += len(body)
            front.st["max_body_bytes"] = max(front.st["max_body_bytes"], len(body))
            if len(body) > MAX_BATCH_BYTES:
                front.st["bodies_over_1mib"] += 1
        op = None
        try:
            op, req, skewed = self.check_request(path, body)
        except ApiError as err:
            if err.violation:
                front.violation(err.violation, err.message, op)
            with front.lock:
                front.st["requests_by_op"][op or "?"] += 1
            return self.send_api_error(err)
        with front.lock:
            front.st["requests_by_op"][op] += 1
        stall_until = front.targeted_stall(op, req)
        if stall_until:
            time.sleep(max(0.0, stall_until - time.time()))
        checked = None
        if op == "PutLogEvents":
            try:
                checked = front.validate_put(req)
            except ApiError as err:
                front.violation(err.violation or err.etype, err.message, op,
                                req.get("logGroupName"), req.get("logStreamName"))
                return self.send_api_error(err)
        fault = front.draw_fault(op, "pre")
        if fault is None and skewed:
            fault = "real-skew"
        if fault == "reset":
            return self.drop(rst=True)
        if fault == "throttle":
            return self.send_api_error(ApiError(400, "ThrottlingException", "Rate exceeded"))
        if fault == "error5xx":
            status = 503 if front.rng.random() < 0.5 else 500
            return self.send_api_error(ApiError(status, "ServiceUnavailableException",
                                                "The service cannot complete the request."))
        if fault in ("skew", "real-skew"):
            amz = self.headers.get("X-Amz-Date", "")
            now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                seconds=front.faults["clock_offset"])
            earliest = now - datetime.timedelta(minutes=5)
            msg = "Signature expired: %s is now earlier than %s (%s - 5 min.)" % (
                amz, earliest.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%dT%H%M%SZ"))
            # send_response adds the Date header a client corrects its clock offset from.
            return self.send_api_error(ApiError(400, "InvalidSignatureException", msg))
        if fault == "expired":
            return self.send_api_error(ApiError(
                400, "ExpiredTokenException",
                "The security token included in the request is expired"))
        # Apply.
        try:
            if front.args.mode == "proxy":
                status, headers, data = self.forward(body)
                if checked and status == 200:
                    self.count_forwarded(checked)
            elif checked:
                resp = front.op_PutLogEvents(req, checked)
            else:
                resp = getattr(front, "op_" + op)(req)
        except ApiError as err:
            if err.violation:
                front.violation(err.violation, err.message, op, req.get("logGroupName"),
                                req.get("logStreamName"))
            return self.send_api_error(err)
        except OSError as exc:
            return self.send_api_error(ApiError(502, "InternalFailure",
                                                "upstream failed: %s" % exc))
        post = front.draw_fault(op, "post")
        if post is None and front.targeted_lose(op, req):
            post = "lose"
        if post == "lose":
            return self.drop(rst=False)
        if post == "slow":
            time.sleep(front.faults["slow_seconds"])
        if front.args.mode == "proxy":
            self.relay(status, headers, data)
        else:
            self.send_json(200, resp)

    def check_request(self, path, body):
        """Headers and framing of an API call; returns (op, parsed body, skewed?)."""
        front = self.server.front
        h = self.headers
        target = h.get("X-Amz-Target")
        op = None
        if target and target.startswith(TARGET_PREFIX):
            op = target[len(TARGET_PREFIX):]
        if path != "/":
            raise ApiError(404, "UnknownOperationException", "path must be /", "bad-path")
        if op is None or not hasattr(front, "op_" + op):
            raise ApiError(400, "UnknownOperationException", "Unknown X-Amz-Target %r" % (
                target,), "bad-target")
        ctype = h.get("Content-Type")
        if ctype != CONTENT_TYPE:
            raise ApiError(400, "SerializationException", "Content-Type must be %s, got %r" % (
                CONTENT_TYPE, ctype), "bad-content-type")
        if not h.get("Host"):
            raise ApiError(400, "IncompleteSignatureException", "Host header missing",
                           "no-host")
        auth = h.get("Authorization")
        if not auth:
            raise ApiError(400, "MissingAuthenticationTokenException",
                           "Missing Authentication Token", "no-authorization")
        amz_date = h.get("X-Amz-Date")
        dm = AMZ_DATE_RE.match(amz_date or "")
        if not dm:
            raise ApiError(400, "IncompleteSignatureException",
                           "X-Amz-Date missing or malformed: %r" % (amz_date,), "bad-amz-date")
        am = AUTH_RE.match(auth)
        if not am:
            raise ApiError(400, "IncompleteSignatureException",
                           "Authorization header malformed: %r" % (auth[:120],),
                           "bad-authorization")
        akid, date, region, service, signed, sig = am.groups()
        if date != dm.group(1):
            raise ApiError(400, "InvalidSignatureException",
                           "Credential date %s does not match X-Amz-Date %s" % (date, amz_date),
                           "credential-date-mismatch")
        if service != "logs":
            raise ApiError(400, "InvalidSignatureException",
                           "Credential should be scoped to correct service: 'logs'.",
                           "wrong-service")
        names = signed.split(";")
        need = {"content-type", "host", "x-amz-date", "x-amz-target"}
        if h.get("X-Amz-Security-Token") is not None:
            need.add("x-amz-security-token")
        if names != sorted(names) or not need.issubset(names):
            raise ApiError(400, "IncompleteSignatureException",
                           "SignedHeaders %r must be sorted and include %s" % (
                               signed, ";".join(sorted(need))), "signed-headers")
        if any(h.get(n) is None for n in names):
            raise ApiError(400, "IncompleteSignatureException",
                           "a signed header is missing from the request", "signed-header-absent")
        if front.args.credentials_file:
            known = front.file_credentials(akid)
            if known is None or h.get("X-Amz-Security-Token") != known[1]:
                raise ApiError(400, "UnrecognizedClientException",
                               "The security token included in the request is invalid.",
                               "unknown-access-key" if known is None else "wrong-session-token")
            if not sigv4_check(h, body, akid, known[0], signed, sig, date, region, service):
                raise ApiError(400, "InvalidSignatureException",
                               "The request signature we calculated does not match the signature "
                               "you provided.", "signature-mismatch")
            with front.lock:
                front.st["keys_used"].add(akid)
            if time.time() >= known[2]:
                with front.lock:
                    front.st["expired_key_uses"] += 1
                raise ApiError(400, "ExpiredTokenException",
                               "The security token included in the request is expired")
        elif front.credentials is not None:
            want_akid, secret = front.credentials
            if akid != want_akid:
                raise ApiError(400, "UnrecognizedClientException",
                               "The security token included in the request is invalid.",
                               "unknown-access-key")
            if not sigv4_check(h, body, akid, secret, signed, sig, date, region, service):
                raise ApiError(400, "InvalidSignatureException",
                               "The request signature we calculated does not match the signature "
                               "you provided.", "signature-mismatch")
        skewed = False
        if front.args.max_skew > 0:
            try:
                t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
            except ValueError:
                raise ApiError(400, "IncompleteSignatureException",
                               "X-Amz-Date is not a date: %r" % (amz_date,), "bad-amz-date")
            skewed = abs(t - time.time() - front.faults["clock_offset"]) > front.args.max_skew
        try:
            req = json_loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "SerializationException", "body is not UTF-8 JSON: %s" % (exc,),
                           "bad-json")
        if not isinstance(req, dict):
            raise ApiError(400, "SerializationException", "body must be a JSON object",
                           "bad-json")
        return op, req, skewed

    # ---- proxy ----

    def forward(self, body):
        up = urllib.parse.urlsplit(self.server.front.args.upstream)
        for attempt in (0, 1):
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(up.hostname, up.port or 80,
                                                           timeout=60)
            try:
                self.upstream.putrequest("POST", self.path, skip_host=True,
                                         skip_accept_encoding=True)
                # Expect: 100-continue was already answered by us, and is never signed.
                for k, v in self.headers.items():
                    if k.lower() not in HOP_BY_HOP and k.lower() not in ("content-length",
                                                                         "expect"):
                        self.upstream.putheader(k, v)
                self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body)
                r = self.upstream.getresponse()
                return r.status, r.getheaders(), r.read()
            except (http.client.HTTPException, OSError):
                self.upstream.close()
                self.upstream = None
                if attempt:
                    raise
        raise OSError("unreachable")

    def relay(self, status, headers, data):
        self.send_response_only(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("content-length", "server",
                                                                 "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Date", self.date_time_string())
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def count_forwarded(self, checked):
        """moto accepted it: count it (moto reports no partial rejections; our plan does)."""
        front = self.server.front
        gname, sname, ts, ms, lo, hi, _, counts = checked
        front.count_accepted(gname, sname, len(ts), hi - lo, counts)
        front.record_events(gname, sname, ts[lo:hi], ms[lo:hi])

    # ---- control ----

    def control(self, path, body):
        front = self.server.front
        if path == "/_front/faults":
            try:
                cfg = json.loads(body or b"{}")
                with front.lock:
                    for k, v in cfg.items():
                        if k not in front.faults and k != "fault_all_ops":
                            raise ValueError("unknown fault %r" % k)
                        if k == "fault_all_ops":
                            front.fault_all_ops = bool(v)
                        else:
                            front.faults[k] = float(v)
            except (ValueError, TypeError, AttributeError) as exc:
                return self.send_json(400, {"error": str(exc)})
            return self.send_json(200, dict(front.faults))
        if path == "/_front/targeted":
            try:
                cfg = json.loads(body or b"{}")
                if not isinstance(cfg, dict) or not isinstance(cfg.get("stream"), str):
                    raise ValueError("need an object with a 'stream' substring")
                with front.lock:
                    front.targeted = {"stream": cfg["stream"],
                                      "stall_ops": list(cfg.get("stall_ops", [])),
                                      "stall_until": float(cfg.get("stall_until", 0)),
                                      "lose_puts": int(cfg.get("lose_puts", 0))}
            except (ValueError, TypeError) as exc:
                return self.send_json(400, {"error": str(exc)})
            return self.send_json(200, front.targeted)
        if path == "/_front/reset-stats":
            front.reset_stats()
            return self.send_json(200, {"ok": True})
        self.send_json(404, {"error": "unknown control path"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def verify_request(self, request, client_address):
        front = self.front
        with front.lock:
            front.st["connections"] += 1
            if time.time() < front.faults["down_until"]:
                front.st["refused_connections"] += 1
                front.st["faults"]["down"] += 1
                return False
        return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("store", "sink", "proxy"), default="store")
    ap.add_argument("--upstream", help="proxy mode: http://127.0.0.1:PORT of moto_server")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--record", help="append each accepted event as a JSON line")
    ap.add_argument("--keep-tail", type=int, default=10000,
                    help="sink mode: events kept per stream for read-back")
    ap.add_argument("--seed", type=int, default=1)
    for k in FAULT_KINDS:
        ap.add_argument("--" + k, type=float, default=0.0, metavar="P")
    ap.add_argument("--slow-seconds", type=float, default=30.0)
    ap.add_argument("--down-until", type=float, default=0.0, metavar="EPOCH")
    ap.add_argument("--down-seconds", type=float, default=0.0, metavar="N")
    ap.add_argument("--fault-all-ops", action="store_true")
    ap.add_argument("--max-body", type=int, default=8 << 20)
    ap.add_argument("--legacy-log-groups", action="store_true",
                    help="store mode: refuse CreateLogGroup's logGroupClass and "
                         "deletionProtectionEnabled as an endpoint that predates them would")
    ap.add_argument("--clock-offset", type=float, default=0.0, metavar="S",
                    help="our clock runs S seconds ahead of the host's (skew tests)")
    ap.add_argument("--max-skew", type=float, default=300.0,
                    help="seconds of X-Amz-Date skew tolerated (0: no check)")
    ap.add_argument("--credentials", help="AKID:SECRET: verify SigV4 signatures too")
    ap.add_argument("--credentials-file",
                    help="JSON lines of issued keys (imds_server.py --issued-file), re-read on "
                         "change: verify signatures, session tokens and expirations")
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.mode == "proxy" and not args.upstream:
        ap.error("--mode proxy needs --upstream")
    for k in FAULT_KINDS:
        if not 0.0 <= getattr(args, k) <= 1.0:
            ap.error("--%s must be a probability" % k)

    srv = Server(("127.0.0.1", args.port), Handler)
    srv.front = Front(args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)
    if args.max_seconds > 0:
        t = threading.Timer(args.max_seconds, lambda: os._exit(3))
        t.daemon = True
        t.start()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if srv.front.record:
            srv.front.record.close()


if __name__ == "__main__":
    main()
