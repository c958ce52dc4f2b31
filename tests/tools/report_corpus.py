#!/usr/bin/env python3
"""report_corpus.py: a day (or more) of CloudHSM audit activity on several HSMs, with the counts
`hsm-audit-forwarder report` must find in it, for the report tests and the docs/ example.

Writes DIR/hsm-<id>.log (raw CloudHSM audit text, one file per HSM, in the layout of
reference/cloudhsm-audit-format.md: "Label : value" lines, a blank line between entries) and
DIR/expected.json with the known answers, counted here by the rules the man page states:
successful operations for the created/generated/deleted/... totals, failed logins by reason
(157 and 206 unknown user, 163 wrong password), CO creations (CN_CREATE_CO, or CN_CREATE_USER
whose target/user type is CN_CRYPTO_OFFICER), sequence gaps per HSM within one reboot counter.

Activity follows a working-day curve (quiet nights), logins open sessions that the following
operations use, a few key operations fail (198 "Key Access is denied"), one HSM gets a burst of
failed logins, and chosen places skip sequence numbers (gaps). --hostile adds users whose names
are HTML, quotes, a right-to-left override and invalid UTF-8, to test escaping.

  report_corpus.py --dir D [--hours 24] [--hsms 3] [--start-usecs N] [--seed 1] [--hostile]
"""
import argparse
import collections
import datetime
import json
import os
import random

HOSTILE = [b"<script>alert(1)</script>", b"\"quoted' & <b>name</b>", b"evil\xe2\x80\xaeresu.exe",
           b"bad\xff\xfeutf8"]
USERS = [(b"crypto_user", "CN_CRYPTO_USER", 1), (b"kmsuser", "CN_CRYPTO_USER", 1),
         (b"app_svc_01", "CN_CRYPTO_USER", 1), (b"admin", "CN_CRYPTO_OFFICER", 2)]


def human(usecs):
    t = datetime.datetime.fromtimestamp(usecs // 1_000_000, datetime.timezone.utc)
    return t.strftime("%m/%d/%y %H:%M:%S") + ".%06d" % (usecs % 1_000_000)


class Hsm:
    def __init__(self, name, reboot):
        self.name = name
        self.reboot = reboot
        self.seq = 0
        self.out = []
        self.gaps = []
        self.entries = 0

    def emit(self, usecs, opcode, code, session, resp, log_type, extra=b""):
        lines = [b"Time: %s, usecs:%d" % (human(usecs).encode(), usecs),
                 b"Sequence No : 0x%x" % self.seq,
                 b"Reboot counter : 0x%x" % self.reboot,
                 b"Command Type(hex) : CN_MGMT_CMD (0x0)",
                 b"Opcode : %s (0x%x)" % (opcode.encode(), code),
                 b"Session Handle : 0x%x" % session,
                 b"Response : %s" % resp,
                 b"Log type : %s" % log_type]
        self.out.append(b"\n".join(lines) + (b"\n" + extra if extra else b"") + b"\n\n")
        self.seq += 1
        self.entries += 1


OK = b"0:HSM Return: SUCCESS"
FAIL = {157: b"157:HSM Error: user isn't initialized or user with this name doesn't exist",
        206: b"206:HSM Error: This user doesn't exist",
        163: b"163:HSM Error: RET_USER_LOGIN_FAILURE",
        198: b"198:HSM Error: Key Access is denied"}
USER_LOG = b"MGMT_USER_DETAILS_LOG (2)"
KEY_LOG = b"MGMT_KEY_DETAILS_LOG (1)"


def user_lines(name, utype, ucode):
    return b"User Name : %s\nUser Type : %s (%d)" % (name, utype.encode(), ucode)


def key_lines(handle):
    return b"Priv/Secret Key Handle : %d\nPublic Key Handle : 0" % handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--hsms", type=int, default=3)
    ap.add_argument("--start-usecs", type=int, default=1_764_979_200_000_000)  # 2025-12-06
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hostile", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    exp = collections.Counter()
    failed_by_user = collections.Counter()
    opcodes = collections.defaultdict(lambda: {"success": 0, "error": 0})
    users = list(USERS) + [(n, "CN_CRYPTO_USER", 1) for n in (HOSTILE if a.hostile else [])]
    hsms = [Hsm("hsm-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(11)),
                0x100 + i) for i in range(a.hsms)]
    handle = 262144
    burst_hsm = hsms[min(1, len(hsms) - 1)]
    burst_at = a.start_usecs + (a.hours * 3600 * 1_000_000) * 14 // 24

    def count_op(name, ok):
        opcodes[name]["success" if ok else "error"] += 1

    for h in hsms:
        t = a.start_usecs + rng.randrange(0, 60_000_000)
        end = a.start_usecs + a.hours * 3600 * 1_000_000
        session = 0x1000000 + rng.randrange(0, 0xffff)
        logged_in = False
        burst_done = h is not burst_hsm
        n_gaps = 0
        backup_done = False
        while t < end:
            hour = (t // 3_600_000_000) % 24
            busy = 9 <= hour < 18
            t += rng.randrange(20_000_000, 90_000_000 if busy else 600_000_000)
            if t >= end:
                break
            if not burst_done and t >= burst_at:
                for k in range(6):
                    name = b"admin"
                    h.emit(t + k * 15_000_000, "CN_LOGIN", 0xd, session + 7, FAIL[163], USER_LOG,
                           user_lines(name, "CN_CRYPTO_OFFICER", 2))
                    exp["login_failed"] += 1
                    exp["wrong_password"] += 1
                    failed_by_user[name] += 1
                    count_op("CN_LOGIN", False)
                t += 6 * 15_000_000
                burst_done = True
                continue
            if not backup_done and hour >= 2:
                for op in ("CN_BACKUP_BEGIN", "CN_BACKUP_END"):
                    h.emit(t, op, 0xd0 if op.endswith("BEGIN") else 0xd1, 0x3000001, OK,
                           b"MINIMAL_LOG_ENTRY (0)")
                    count_op(op, True)
                    exp["backup_restore"] += 1
                    t += 2_000_000
                backup_done = True
                continue
            if n_gaps < 2 and rng.random() < 0.01:
                skip = rng.randrange(1, 5)
                h.gaps.append({"reboot_counter": h.reboot, "expected": h.seq,
                               "received": h.seq + skip, "missing": skip})
                h.seq += skip
                n_gaps += 1
            if not logged_in:
                name, utype, ucode = rng.choice(users)
                r = rng.random()
                if r < 0.12:
                    code = rng.choice([157, 206, 163])
                    h.emit(t, "CN_LOGIN", 0xd, session, FAIL[code], USER_LOG,
                           user_lines(name, utype, ucode))
                    exp["login_failed"] += 1
                    exp["unknown_user" if code != 163 else "wrong_password"] += 1
                    failed_by_user[name] += 1
                    count_op("CN_LOGIN", False)
                    continue
                session += 1
                h.emit(t, "CN_LOGIN", 0xd, session, OK, USER_LOG, user_lines(name, utype, ucode))
                exp["login_success"] += 1
                count_op("CN_LOGIN", True)
                logged_in = True
                continue
            r = rng.random()
            if r < 0.15:
                h.emit(t, "CN_LOGOUT", 0xe, session, OK, USER_LOG,
                       user_lines(b"crypto_user", "CN_CRYPTO_USER", 1))
                count_op("CN_LOGOUT", True)
                logged_in = False
            elif r < 0.19:
                co = rng.random() < 0.3
                op, code = ("CN_CREATE_CO", 4) if co else ("CN_CREATE_USER", 3)
                new = b"user%04d" % rng.randrange(10000)
                h.emit(t, op, code, session, OK, USER_LOG,
                       user_lines(new, "CN_CRYPTO_OFFICER" if co else "CN_CRYPTO_USER",
                                  2 if co else 1))
                exp["created"] += 1
                exp["crypto_officers_created"] += co
                count_op(op, True)
            elif r < 0.21:
                h.emit(t, "CN_DELETE_USER", 0xa1, session, OK, USER_LOG,
                       user_lines(b"user%04d" % rng.randrange(10000), "CN_CRYPTO_USER", 1))
                exp["deleted"] += 1
                count_op("CN_DELETE_USER", True)
            elif r < 0.23:
                h.emit(t, "CN_CHANGE_PSWD", 0x9, session, OK, USER_LOG,
                       user_lines(b"crypto_user", "CN_CRYPTO_USER", 1))
                exp["password_changes"] += 1
                count_op("CN_CHANGE_PSWD", True)
            else:
                ops = [("CN_GENERATE_KEY", 0x17, "generated_symmetric"),
                       ("CN_GENERATE_KEY_PAIR", 0x19, "generated_asymmetric"),
                       ("CN_DESTROY_OBJECT", 0x11, "deleted_session"),
                       ("CN_TOMBSTONE_OBJECT", 0x8f, "deleted_token"),
                       ("CN_WRAP_KEY", 0x1a, "exported"), ("CN_UNWRAP_KEY", 0x1b, "imported"),
                       ("CN_SHARE_OBJECT", 0x12, "shared"),
                       ("CN_EXTRACT_MASKED_OBJECT_USER", 0xf0, "cluster_sync"),
                       ("CN_INSERT_MASKED_OBJECT_USER", 0xf1, "cluster_sync")]
                op, code, kind = rng.choice(ops)
                ok = rng.random() > 0.05
                handle += 1
                h.emit(t, op, code, session, OK if ok else FAIL[198], KEY_LOG, key_lines(handle))
                count_op(op, ok)
                exp["key_ops"] += 1
                if ok:
                    exp[kind] += 1
                else:
                    exp["key_errors"] += 1
        with open(os.path.join(a.dir, h.name + ".log"), "wb") as f:
            f.write(b"".join(h.out))
    exp["generated"] = exp["generated_symmetric"] + exp["generated_asymmetric"]
    exp["deleted_keys"] = exp["deleted_session"] + exp["deleted_token"]
    expected = {
        "entries": sum(h.entries for h in hsms),
        "logins": {"success": exp["login_success"], "failed": exp["login_failed"],
                   "failed_by_reason": {"unknown_user": exp["unknown_user"],
                                        "wrong_password": exp["wrong_password"], "other": 0},
                   "failed_by_user": {k.decode("utf-8", "replace"): v
                                      for k, v in failed_by_user.items()}},
        "users": {k: exp[k] for k in ("created", "deleted", "crypto_officers_created",
                                      "password_changes")},
        "keys": {"generated": exp["generated"], "generated_symmetric": exp["generated_symmetric"],
                 "generated_asymmetric": exp["generated_asymmetric"],
                 "deleted": exp["deleted_keys"], "deleted_token": exp["deleted_token"],
                 "deleted_session": exp["deleted_session"], "exported": exp["exported"],
                 "imported": exp["imported"], "shared": exp["shared"],
                 "cluster_sync": exp["cluster_sync"]},
        "hsms": [{"hsm": h.name, "entries": h.entries, "reboot_counters": [h.reboot],
                  "gaps": h.gaps} for h in hsms],
        "opcodes": opcodes,
        "errors_total": exp["login_failed"] + exp["key_errors"],
        "critical": {"backup_restore": exp["backup_restore"]},
        "bursts_on": burst_hsm.name,
    }
    with open(os.path.join(a.dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
