#!/usr/bin/python3
"""check_digests.py: an independent check of digest records, written from the specification in
include/haf/digest.h and not from the C code: Python's hashlib for the hashes and Debian's
python3-cryptography for the signatures.

Usage: check_digests.py PUBLIC_KEY_DER_BASE64 EVENTS.jsonl RECORDS.jsonl
  EVENTS: one {"timestamp": N, "message": "..."} per line (what get-log-events returns)
  RECORDS: one shipped digest record per line, in chain order
Checks every signature over the canonical bytes (the shipped text without its "sig" member), the
chain (seq, prev_sha256, chain_sha256), and each record's events_sha256 and count against the
events it covers (late ones by leaf, the rest by timestamp in (after_ms, last_ms]). Prints one line
per record and exits 0 only when all hold, 1 otherwise.
"""
import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key


def leaf(ts, msg):
    return hashlib.sha256(b"haf-leaf-v1\0" + struct.pack(">qQ", ts, len(msg)) + msg).digest()


def verify_sig(key, alg, data, sig):
    try:
        if alg == "ED25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        elif alg == "ECDSA_SHA_256" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif alg == "RSASSA_PSS_SHA_256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                              salt_length=padding.PSS.AUTO), hashes.SHA256())
        else:
            return False
        return True
    except InvalidSignature:
        return False


def main():
    key = load_der_public_key(base64.b64decode(sys.argv[1]))
    events = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    texts = [l.rstrip("\n") for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
    pool = [(e["timestamp"], leaf(e["timestamp"], e["message"].encode("utf-8"))) for e in events]
    used = [False] * len(pool)
    ok = True
    prev_hash, prev_chain, prev_seq = bytes(32), bytes(32), 0
    records = [json.loads(t) for t in texts]
    # Late events first, for every record: a late event's timestamp also lies in the range of an
    # earlier record, which must not take it.
    late_of = []
    for rec in records:
        taken = []
        for ts, hx in rec["late"]:
            for i, (t, l) in enumerate(pool):
                if not used[i] and t == ts and l.hex() == hx:
                    used[i] = True
                    taken.append((t, l))
                    break
        late_of.append(taken)
    for text, rec, taken in zip(texts, records, late_of):
        cut = text.rindex(',"sig":"')
        canonical = (text[:cut] + "}").encode("utf-8")
        good = verify_sig(key, rec["alg"], canonical, base64.b64decode(rec["sig"]))
        covered = list(taken)
        for i, (t, l) in enumerate(pool):
            if not used[i] and rec["after_ms"] < t <= rec["last_ms"] and rec["count"] > 0:
                used[i] = True
                covered.append((t, l))
        covered.sort()
        events_hash = hashlib.sha256(b"haf-events-v1\0" + struct.pack(">Q", len(covered)) +
                                     b"".join(l for _, l in covered)).digest()
        chain = hashlib.sha256(b"haf-chain-v1\0" + prev_chain + events_hash).digest()
        checks = {
            "signature": good,
            "seq": rec["seq"] == prev_seq + 1,
            "prev_sha256": rec["prev_sha256"] == prev_hash.hex(),
            "count": rec["count"] == len(covered),
            "events_sha256": rec["events_sha256"] == events_hash.hex(),
            "chain_sha256": rec["chain_sha256"] == chain.hex(),
        }
        bad = [k for k, v in checks.items() if not v]
        print(f"record {rec['seq']} {rec['kind']} count {rec['count']}: "
              + ("ok" if not bad else "FAILED " + ",".join(bad)))
        ok = ok and not bad
        prev_hash, prev_chain, prev_seq = hashlib.sha256(canonical).digest(), chain, rec["seq"]
    left = used.count(False)
    if left:
        print(f"{left} events covered by no record")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
