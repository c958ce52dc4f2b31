#!/usr/bin/env bash
# daemon_rotation_rename.sh: rotation by rename under load. A writer appends 3000 entries at about
# 1000/s to audit.log and rotates it as logrotate does by default (audit.log -> audit.log.1, older
# copies shifted, a new audit.log created) every 400 entries, while the daemon follows the glob
# *.log. The daemon must drain each rotated-away file to its end (the fd stays open after the
# rename) before reading its successor: every entry arrives exactly once, in one stream, with no
# sequence_gap marker (a file read out of order would produce one), the log says each old file was
# released after being read to the end, and every request kept CloudWatch's rules (checking front).
# Digests are on (Ed25519 key file, interval 2 s): after the stop, `verify` proves the stream.
# Bounded: about 12 s.
set -uo pipefail
source "$HAF_SOURCE_DIR/tests/tools/daemon_lib.sh"
source "$HAF_SOURCE_DIR/tests/tools/daemon_front.sh"
haf_setup
front_start

G=/cloudhsm/rotation-rename
openssl genpkey -algorithm ED25519 -out "$T/key.pem" 2>/dev/null || haf_fail "openssl genpkey"
chmod 600 "$T/key.pem"
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null
haf_config "$G" "hsm-stream" "digest:
  enabled: true
  interval_s: 2
  key_file: $T/key.pem"
haf_start
haf_wait_log "watching" 10 || haf_fail "daemon did not start"
python3 "$HAF_SOURCE_DIR/tests/tools/audit_writer.py" --path "$T/audit/audit.log" --count 3000 \
    --rate 1000 --chunk 10 --rotate-every 400 --rotate-mode rename --keep 10 >"$T/writer.out" ||
    haf_fail "writer failed"
[ "$(cat "$T/writer.out")" = 3000 ] || haf_fail "writer wrote $(cat "$T/writer.out") entries"
[ -f "$T/audit/audit.log.7" ] || haf_fail "the writer did not rotate 7 times"

out=$(haf_wait_delivered "$G" 0 2999 30) || { echo "$out"; haf_fail "not every entry exactly once"; }
echo "$out"
case "$out" in *"markers 0 "*) ;; *) haf_fail "a marker (sequence_gap?) was emitted: $out" ;; esac
grep -q "sequence gap" "$T/daemon.log" && haf_fail "the daemon logged a sequence gap"
# A rotated-away file is let go once it stayed at EOF for 5 s (TAIL_ROTATE_WAIT_MS).
for _ in $(seq 1 50); do
    n=$(grep -c "released (rotated away" "$T/daemon.log")
    [ "$n" -ge 7 ] && break
    sleep 0.2
done
[ "$n" -ge 7 ] || haf_fail "only $n rotated files released (expected 7)"
haf_stop
front_assert_clean
rc=0
timeout 120 "$HAF_BIN" verify -c "$T/haf.yaml" --log-group "$G" --log-stream hsm-stream \
    --public-key "$T/pub.pem" >"$T/verify.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q ": PROVEN" "$T/verify.out" && grep -q "covered 3000," "$T/verify.out" ||
    { cat "$T/verify.out"; haf_fail "verify after the rotations exited $rc"; }
echo "PASS daemon_rotation_rename"
