#!/usr/bin/env python3
"""gen_audit.py: generate realistic AWS CloudHSM audit log entries for benchmarks and load tests.

The entries follow docs/audit-format.md: the documented field order and value
syntax, a deterministic mix of log types and opcodes (logins, failed logins, logouts, user
management, key generation, destroy, wrap/unwrap, masked-object sync, share), mostly the
" : " separator with some tab-aligned and "Label:" entries, about 330 bytes each. Within one
output file the sequence numbers are consecutive (from --start-seq), the reboot counter is fixed
(--reboot) and the times strictly increase (from --start-usecs); the human time always matches
usecs. The same arguments always produce the same bytes (--seed picks another mix).

  gen_audit.py -n 1000000 -o audit.log
  gen_audit.py -n 100000 --files 4 --dir /tmp/audit     # 4 files (4 HSM streams), N split evenly
  gen_audit.py -n 10 --start-usecs $(( $(date +%s) * 1000000 ))   # times CloudWatch accepts

With --files K the N entries are split evenly over K files named audit-000.log, audit-001.log, ...
(the first files get one more when N % K != 0); each file is its own stream, so each starts at
--start-seq and --start-usecs. Without -o or --files the entries go to stdout.
"""

import argparse
import os
import random
import sys
import time

# (weight, opcode name, opcode code, log type, kind)
MIX = [
    (20, "CN_LOGIN", 0xD, 2, "login_ok"),
    (5, "CN_LOGIN", 0xD, 2, "login_bad_password"),
    (3, "CN_LOGIN", 0xD, 2, "login_unknown_user"),
    (15, "CN_LOGOUT", 0xE, 2, "user"),
    (3, "CN_CREATE_USER", 0x3, 2, "new_user"),
    (1, "CN_CREATE_CO", 0x4, 2, "new_co"),
    (2, "CN_DELETE_USER", 0xA1, 2, "new_user"),
    (2, "CN_CHANGE_PSWD", 0x9, 2, "user"),
    (10, "CN_GENERATE_KEY", 0x17, 1, "key"),
    (6, "CN_GENERATE_KEY_PAIR", 0x19, 1, "key_pair"),
    (8, "CN_DESTROY_OBJECT", 0x11, 1, "key"),
    (5, "CN_WRAP_KEY", 0x1A, 1, "key"),
    (4, "CN_UNWRAP_KEY", 0x1B, 1, "key"),
    (5, "CN_EXTRACT_MASKED_OBJECT_USER", 0xF0, 1, "key"),
    (5, "CN_INSERT_MASKED_OBJECT_USER", 0xF1, 1, "key"),
    (3, "CN_NIST_AES_WRAP", 0x1E, 1, "key"),
    (3, "CN_SHARE_OBJECT", 0x12, 5, "minimal"),
]
LOG_TYPES = {0: "MINIMAL_LOG_ENTRY", 1: "MGMT_KEY_DETAILS_LOG", 2: "MGMT_USER_DETAILS_LOG",
             5: "UNKNOWN_LOG_TYPE"}
USERS = [("crypto_user", "CN_CRYPTO_USER", 1), ("kmsuser", "CN_CRYPTO_USER", 1),
         ("app_svc_01", "CN_CRYPTO_USER", 1), ("admin", "CN_CRYPTO_OFFICER", 2),
         ("secops_admin", "CN_CRYPTO_OFFICER", 2)]
NEW_USERS = [("bob", "CN_CRYPTO_USER", 1), ("alice", "CN_CRYPTO_OFFICER", 2),
             ("batch_signer", "CN_CRYPTO_USER", 1)]
SUCCESS = "0:HSM Return: SUCCESS"
BAD_PASSWORD = "163:HSM Error: RET_USER_LOGIN_FAILURE"
UNKNOWN_USER = "157:HSM Error: user isn't initialized or user with this name doesn't exist"
# Label padding styles seen in the reference (§2.2): " : ", tab-aligned to column 24, and ":".
TAB_ALIGNED = {"Sequence No": "\t\t", "Reboot counter": "\t\t", "Command Type(hex)": "\t",
               "Opcode": "\t\t\t", "Session Handle": "\t\t", "Response": "\t\t",
               "Log type": "\t\t", "User Name": "\t\t", "User Type": "\t\t",
               "Priv/Secret Key Handle": "\t", "Public Key Handle": "\t"}


def weighted_table():
    table = []
    for w, *rest in MIX:
        table.extend([tuple(rest)] * w)
    return table


def human(usecs):
    secs, frac = divmod(usecs, 1_000_000)
    return time.strftime("%m/%d/%y %H:%M:%S", time.gmtime(secs)) + ".%06d" % frac


def entries(n, start_usecs, reboot, start_seq, rng):
    table = weighted_table()
    usecs = start_usecs
    session = 0x2014004
    for i in range(n):
        opcode, code, log_type, kind = table[rng.randrange(len(table))]
        style = rng.randrange(20)  # 0-1: tab-aligned, 2: no space, else " : "
        if rng.randrange(8) == 0:
            session = 0x1000000 * rng.randrange(1, 16) + 0x14000 + rng.randrange(16)
        response = SUCCESS
        fields = [
            ("Sequence No", "0x%x" % (start_seq + i)),
            ("Reboot counter", "0x%x" % reboot),
            ("Command Type(hex)", "CN_MGMT_CMD (0x0)"),
            ("Opcode", "%s (0x%x)" % (opcode, code)),
            ("Session Handle", "0x%x" % session),
        ]
        extra = []
        if kind.startswith("login") or kind == "user":
            name, utype, ucode = USERS[rng.randrange(len(USERS))]
            if kind == "login_bad_password":
                response = BAD_PASSWORD
            elif kind == "login_unknown_user":
                response = UNKNOWN_USER
                name = "user%04d" % rng.randrange(10000)
            extra = [("User Name", name), ("User Type", "%s (%d)" % (utype, ucode))]
        elif kind in ("new_user", "new_co"):
            name, utype, ucode = NEW_USERS[1] if kind == "new_co" else NEW_USERS[rng.randrange(3)]
            extra = [("User Name", name), ("User Type", "%s (%d)" % (utype, ucode))]
        elif kind == "key":
            extra = [("Priv/Secret Key Handle", str(rng.randrange(1, 1 << 22))),
                     ("Public Key Handle", "0")]
        elif kind == "key_pair":
            h = rng.randrange(2, 1 << 22)
            extra = [("Priv/Secret Key Handle", str(h)), ("Public Key Handle", str(h - 1))]
        fields.append(("Response", response))
        fields.append(("Log type", "%s (%d)" % (LOG_TYPES[log_type], log_type)))
        fields.extend(extra)
        lines = ["Time: %s, usecs:%d" % (human(usecs), usecs)]
        for label, value in fields:
            if style < 2:
                lines.append("%s%s: %s" % (label, TAB_ALIGNED[label], value))
            elif style == 2:
                lines.append("%s: %s" % (label, value))
            else:
                lines.append("%s : %s" % (label, value))
        yield "\n".join(lines) + "\n"
        usecs += rng.randrange(1_000, 400_000)


def write(path, n, args, rng):
    out = sys.stdout if path is None else open(path, "w", encoding="ascii", newline="\n")
    try:
        batch = []
        for text in entries(n, args.start_usecs, args.reboot, args.start_seq, rng):
            batch.append(text)
            if len(batch) == 4096:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    finally:
        if path is not None:
            out.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-n", type=int, required=True, help="number of entries (total)")
    ap.add_argument("-o", "--output", help="output file (default stdout)")
    ap.add_argument("--files", type=int, help="split the entries over K files in --dir")
    ap.add_argument("--dir", help="directory for --files (created if missing)")
    ap.add_argument("--start-usecs", type=int, default=1_700_000_000_000_000,
                    help="usecs of the first entry (default 1700000000000000)")
    ap.add_argument("--reboot", type=lambda s: int(s, 0), default=0x107,
                    help="reboot counter (default 0x107)")
    ap.add_argument("--start-seq", type=lambda s: int(s, 0), default=0,
                    help="first sequence number (default 0)")
    ap.add_argument("--seed", type=int, default=1, help="mix seed (default 1)")
    args = ap.parse_args()
    if args.n < 0:
        ap.error("-n must be >= 0")
    if (args.files is None) != (args.dir is None):
        ap.error("--files and --dir go together")
    if args.files is not None and args.output:
        ap.error("-o and --files exclude each other")
    if args.files is not None:
        if args.files < 1:
            ap.error("--files must be >= 1")
        os.makedirs(args.dir, exist_ok=True)
        base, rem = divmod(args.n, args.files)
        for k in range(args.files):
            rng = random.Random(args.seed * 1_000_003 + k)
            write(os.path.join(args.dir, "audit-%03d.log" % k), base + (k < rem), args, rng)
    else:
        write(args.output, args.n, args, random.Random(args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
