#!/usr/bin/env python3
"""sigv4_botocore.py: sign requests with botocore's SigV4Auth, for a byte-for-byte cross-check.

Reads JSON lines on stdin, one request each:
  {"method": "POST", "url": "https://logs.us-east-1.amazonaws.com/", "headers": [["Host", "..."], ...],
   "body": "<utf-8 text>", "access_key": "...", "secret_key": "...", "token": null | "...",
   "region": "us-east-1", "service": "logs", "time": <epoch seconds>}
and prints, for each, one line: "<X-Amz-Date> <Authorization>". The clock is fixed by patching
botocore.auth.get_current_datetime, the function SigV4Auth.add_auth reads the time from.
Exit 77 (the CTest skip code) when botocore is not importable.
"""
import datetime
import json
import sys
from unittest import mock

try:
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
except ImportError:
    sys.exit(77)


def sign(spec):
    creds = botocore.credentials.Credentials(spec["access_key"], spec["secret_key"], spec.get("token"))
    req = botocore.awsrequest.AWSRequest(
        method=spec["method"],
        url=spec["url"],
        headers=dict(spec["headers"]),
        data=spec["body"].encode("utf-8"),
    )
    now = datetime.datetime.fromtimestamp(spec["time"], datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        botocore.auth.SigV4Auth(creds, spec["service"], spec["region"]).add_auth(req)
    return req.headers["X-Amz-Date"], req.headers["Authorization"]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        date, authz = sign(json.loads(line))
        print(date, authz, flush=True)


if __name__ == "__main__":
    main()
