#!/usr/bin/env bash
# systemd_real: the project's unit under a REAL systemd (tests/tools/real_systemd.sh: PID 1 of
# fresh namespaces over a copy-on-write view of this machine), installed as the package would
# (system user, config root:group 0640), shipping to a moto_server with IAM auth on that runs in
# this test's own network namespace. Checked, in order:
#   start: active once READY=1 came; STATUS= says what was shipped and no "last ack -1 s ago";
#   the kernel's view of the main PID: the service user, no capabilities, NoNewPrivs, seccomp, own
#   mount/ipc/uts namespaces, / read-only, the state directory writable;
#   a file copied into /var/log/cloudhsm/audit arrives in CloudWatch Logs exactly once;
#   `systemctl reload` with a changed config returns only once the new one is in use: it waits
#   while the daemon is frozen (SIGSTOP), and when it returns the daemon's "reloaded
#   configuration" is in the journal; same MainPID;
#   a reload with an invalid config fails, the service keeps running on the old one, and the error
#   is at priority err with its file:line:column;
#   the watchdog: WatchdogSec=4s in a drop-in, the daemon frozen with SIGSTOP, systemd kills it
#   ("Watchdog timeout") and restarts it;
#   stop: inactive, Result=success; ExecReload= and the unit need no /bin/kill;
#   an invalid config at start: the start fails once, no restart after RestartSec+3 s, and
#   `journalctl -p err` shows the file:line:column;
#   the hardening probe (tests/tools/sandbox_probe.py run in the unit's own sandbox): writes outside
#   the state directory, other address families, W+X memory, namespaces, chroot, ptrace denied.
# Needs root (the test command runs as root); skips (77) where namespaces or mounts are not
# allowed, or moto is missing. Bounded by RS_DEADLINE (240 s); takes about 60 s.
set -uo pipefail
src=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
[ -x "${HAF_BIN:-}" ] || { echo "HAF_BIN is not an executable: ${HAF_BIN:-unset}"; exit 1; }
source "$src/tests/tools/real_systemd.sh"
rs_check || exit 77

# A private network namespace for this test: moto_server and the container share it.
if [ -z "${HAF_RS_NETNS:-}" ]; then
    HAF_RS_NETNS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up || { echo "cannot bring up lo in the new network namespace"; exit 1; }
export MOTO_NO_TRAP=1
source "$src/tests/tools/moto.sh"
trap moto_stop EXIT
moto_start us-east-1 || exit $?
rs_extra_cleanup() { moto_stop; }

export RS_NET=inherit RS_DEADLINE=${RS_DEADLINE:-240}
SVC=hsm-audit-forwarder.service
CONF=/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml
AUDIT=/var/log/cloudhsm/audit
G=/cloudhsm/systemd-real
work=$(mktemp -d)
rs_boot || exit 1
rs_extra_cleanup() { moto_stop; rm -rf "$work"; }

cat >"$work/haf.yaml" <<YAML
region: us-east-1
endpoint: $MOTO_URL
state_dir: /var/lib/hsm-audit-forwarder
create_log_group: true
batch:
  flush_interval_ms: 200
sources:
  - path: $AUDIT/*.log
    log_group: $G
    log_stream: "{file}"
YAML
printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_EC2_METADATA_DISABLED=true\n' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$work/env"
# A sanitizer build: LeakSanitizer stops the process with ptrace at exit, which the unit's system
# call filter forbids, and then exits 1 (every stop and --reload would "fail"). AddressSanitizer
# and UBSan still check everything else in here; leaks are checked by the other tests.
if "$HAF_BIN" --version 2>/dev/null | grep -q 'Sanitizer'; then
    echo 'ASAN_OPTIONS=detect_leaks=0' >>"$work/env"
    rs_say "sanitizer build: detect_leaks=0 in the service's environment"
fi
rs_install_service "$HAF_BIN" "$src/systemd/hsm-audit-forwarder.service" "$work/haf.yaml" "$work/env" ||
    { rs_bad "install"; exit 1; }
mkdir -p "$RS_ROOT$AUDIT"
v=$(TMO=20 cx systemd-analyze verify --man=no "/etc/systemd/system/$SVC" 2>&1)
[ -z "$v" ] && rs_ok "systemd-analyze verify: no findings" || rs_say "systemd-analyze verify: $v"

# ---- start, STATUS --------------------------------------------------------------------------------
t_start=$(date +%s)
TMO=60 cx systemctl start "$SVC"
rc=$?
if [ $rc = 0 ] && [ "$(sctl is-active "$SVC")" = active ]; then
    rs_ok "start: active (READY=1 received)"
else
    rs_bad "start (rc $rc, $(sctl is-active "$SVC"))"
    rs_jnl "$SVC"
    exit 1
fi
sleep 1.5
MP=$(rs_show "$SVC" MainPID)
stx=$(rs_show "$SVC" StatusText)
rs_say "STATUS=$stx"
[ -n "$stx" ] && rs_ok "STATUS= is set" || rs_bad "no STATUS= text"
grep -q -- '-1 s' <<<"$stx" && rs_bad "STATUS= says '-1 s' before any acknowledgement: $stx" ||
    rs_ok "STATUS= before any acknowledgement has no '-1 s'"
n_start=$(rs_jnl "$SVC" "$t_start" | grep -c "hsm-audit-forwarder\[")
[ "$n_start" -le 8 ] && rs_ok "a normal start logs $n_start lines (no configuration dump)" ||
    rs_bad "a normal start logs $n_start lines"

# ---- hardening as the kernel sees it --------------------------------------------------------------
s=$(cx cat "/proc/$MP/status")
uid=$(awk '/^Uid:/{print $2}' <<<"$s")
[ "$uid" = "$(cx id -u hsm-audit-forwarder)" ] && rs_ok "runs as hsm-audit-forwarder (uid $uid)" || rs_bad "uid $uid"
grep -q '^CapEff:[[:space:]]*0*$' <<<"$s" && grep -q '^CapBnd:[[:space:]]*0*$' <<<"$s" &&
    rs_ok "no capabilities (CapEff/CapBnd 0)" || rs_bad "capabilities left"
grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$s" && rs_ok "NoNewPrivs=1" || rs_bad "NoNewPrivs not set"
grep -q '^Seccomp:[[:space:]]*2' <<<"$s" && rs_ok "seccomp filter mode" || rs_bad "no seccomp filter"
for n in mnt ipc uts; do
    [ "$(cx readlink /proc/1/ns/$n)" != "$(cx readlink "/proc/$MP/ns/$n")" ] && rs_ok "own $n namespace" ||
        rs_bad "shares $n namespace with PID 1"
done
ro=$(cx findmnt --task "$MP" -rno OPTIONS /)
[[ ",$ro," == *,ro,* ]] && rs_ok "/ is read-only in the service" || rs_bad "/ is writable ($ro)"
so=$(cx findmnt --task "$MP" -rno OPTIONS /var/lib/hsm-audit-forwarder)
[[ ",$so," == *,rw,* ]] && rs_ok "state directory writable ($(cx stat -c '%U %a' /var/lib/hsm-audit-forwarder))" ||
    rs_bad "state directory mount: $so"

# ---- ship a file ----------------------------------------------------------------------------------
python3 "$src/tests/bench/gen_audit.py" -n 50 --start-seq 0 --reboot 263 \
    --start-usecs "$(($(date +%s%N) / 1000))" >"$work/hsm.log"
install -m 0644 "$work/hsm.log" "$RS_ROOT$AUDIT/hsm.log"
arrived() { [ "$(moto_get_events "$G" hsm.log 2>/dev/null | wc -l)" -ge 50 ]; }
if rs_wait 20 arrived; then
    got=$(moto_get_events "$G" hsm.log | python3 -c '
import json, sys
seqs = [json.loads(l)["sequence_no"] for l in sys.stdin]
print(len(seqs), len(set(seqs)), min(seqs), max(seqs))')
    [ "$got" = "50 50 0 49" ] && rs_ok "50 entries shipped to CloudWatch Logs once each (sequence 0..49)" ||
        rs_bad "shipped: count, distinct, min, max = $got"
else
    rs_bad "the file's entries did not arrive within 20 s"
fi
stat_ok() { grep -q '^shipped 50 events' <<<"$(rs_show "$SVC" StatusText)"; }
rs_wait 5 stat_ok && rs_ok "STATUS=$(rs_show "$SVC" StatusText)" || rs_bad "STATUS=$(rs_show "$SVC" StatusText)"

# ---- reload: good, then bad -----------------------------------------------------------------------
cx sed -i 's/flush_interval_ms: 200/flush_interval_ms: 300/' "$CONF"
# The daemon is frozen while `systemctl reload` runs: a reload that returns while it cannot have
# read the new configuration (ExecReload=/bin/kill returns at once) fails here.
t_r=$(date +%s)
sctl kill -s SIGSTOP --kill-who=main "$SVC"
(TMO=100 cx systemctl reload "$SVC"; echo $? >"$work/reload.rc") &
rpid=$!
sleep 2
[ -s "$work/reload.rc" ] && rs_bad "systemctl reload returned while the daemon was frozen" ||
    rs_ok "systemctl reload waits while the daemon is frozen"
sctl kill -s SIGCONT --kill-who=main "$SVC"
wait "$rpid"
rc=$(cat "$work/reload.rc")
if rs_jnl "$SVC" "$t_r" | grep 'reloaded configuration' >/dev/null; then
    rs_ok "systemctl reload returned (rc $rc) with the new configuration already in use"
else
    rs_bad "systemctl reload returned (rc $rc) before the daemon said 'reloaded configuration'"
fi
[ "$rc" = 0 ] && [ "$(rs_show "$SVC" MainPID)" = "$MP" ] && [ "$(sctl is-active "$SVC")" = active ] &&
    rs_ok "reload: still active, same MainPID" || rs_bad "reload (rc $rc)"
cx sh -c "cp -p '$CONF' /run/cfg.good && echo 'no_such_key: 1' >> '$CONF'"
t_b=$(date +%s)
TMO=100 cx systemctl reload "$SVC" 2>/dev/null
rc=$?
[ $rc != 0 ] && rs_ok "systemctl reload with an invalid config fails (rc $rc)" ||
    rs_bad "systemctl reload with an invalid config succeeded"
[ "$(sctl is-active "$SVC")" = active ] && [ "$(rs_show "$SVC" MainPID)" = "$MP" ] &&
    rs_ok "still active on the old configuration" || rs_bad "a bad reload stopped the service"
errl=$(rs_jnl "$SVC" "$t_b" 3 | grep -E "$CONF:[0-9]+:[0-9]+: ")
[ -n "$errl" ] && rs_ok "at priority err: ${errl#*: }" || {
    rs_bad "no file:line:column at priority err after the bad reload"
    rs_jnl "$SVC" "$t_b"
}
cx sh -c "cp -p /run/cfg.good '$CONF'"
TMO=100 cx systemctl reload "$SVC" || rs_bad "reload after restoring the config"

# ---- watchdog: a frozen daemon is killed and restarted --------------------------------------------
mkdir -p "$RS_ROOT/run/systemd/system/$SVC.d"
printf '[Service]\nWatchdogSec=4s\n' >"$RS_ROOT/run/systemd/system/$SVC.d/wd.conf"
sctl daemon-reload
TMO=60 cx systemctl restart "$SVC"
sleep 3
w0=$(rs_show "$SVC" WatchdogTimestampMonotonic)
sleep 2.5
[ "$(rs_show "$SVC" WatchdogTimestampMonotonic)" != "$w0" ] && rs_ok "WATCHDOG=1 every ~2 s with WatchdogSec=4s" ||
    rs_bad "no pings with WatchdogSec=4s"
t_wd=$(date +%s)
nr=$(rs_show "$SVC" NRestarts)
frozen=$(rs_show "$SVC" MainPID)
sctl kill -s SIGSTOP --kill-who=main "$SVC"
wd_fired() { cx journalctl -b -o cat -u "$SVC" --since=@"$t_wd" | grep 'Watchdog timeout' >/dev/null; }
rs_wait 20 wd_fired && rs_ok "watchdog timeout fired on the frozen daemon" || rs_bad "the watchdog did not fire"
restarted() {
    [ "$(rs_show "$SVC" NRestarts)" != "$nr" ] && [ "$(sctl is-active "$SVC")" = active ] &&
        [ "$(rs_show "$SVC" MainPID)" != "$frozen" ]
}
rs_wait 25 restarted && rs_ok "restarted after the watchdog kill (NRestarts=$(rs_show "$SVC" NRestarts))" ||
    rs_bad "not restarted after the watchdog kill ($(sctl is-active "$SVC"), NRestarts=$(rs_show "$SVC" NRestarts))"
rm -rf "$RS_ROOT/run/systemd/system/$SVC.d"
sctl daemon-reload

# ---- stop -----------------------------------------------------------------------------------------
TMO=100 cx systemctl stop "$SVC"
rc=$?
res=$(rs_show "$SVC" Result)
[ $rc = 0 ] && [ "$(sctl is-active "$SVC")" = inactive ] && [ "$res" = success ] &&
    rs_ok "stop: inactive, Result=success" || rs_bad "stop (rc $rc, Result=$res)"
grep -q '^[^#]*/bin/kill' "$src/systemd/hsm-audit-forwarder.service" && rs_bad "the unit still needs /bin/kill" ||
    rs_ok "the unit needs no /bin/kill (procps)"

# ---- an invalid config at start: fails once, stays failed ----------------------------------------
sctl reset-failed "$SVC" 2>/dev/null
cx sh -c "cp -p '$CONF' /run/cfg.good && echo 'no_such_key: 1' >> '$CONF'"
t_bs=$(date +%s)
TMO=30 cx systemctl start "$SVC" 2>/dev/null && rs_bad "start with an invalid config succeeded"
sleep 8 # RestartSec=5s + 3 s
nr=$(rs_show "$SVC" NRestarts)
st="$(sctl is-active "$SVC")/$(rs_show "$SVC" Result)/$(rs_show "$SVC" ExecMainStatus)"
[ "$nr" = 0 ] && [ "$st" = "failed/exit-code/2" ] && rs_ok "invalid config at start: $st, not restarted after 8 s" ||
    rs_bad "invalid config at start: $st, NRestarts=$nr"
errl=$(rs_jnl "$SVC" "$t_bs" 3 | grep -E "$CONF:[0-9]+:[0-9]+: ")
[ -n "$errl" ] && rs_ok "journalctl -p err: ${errl#*: }" || {
    rs_bad "no file:line:column at priority err after the failed start"
    rs_jnl "$SVC" "$t_bs"
}
cx sh -c "cp -p /run/cfg.good '$CONF'"
sctl reset-failed "$SVC" 2>/dev/null

# ---- the hardening probe in the unit's own sandbox -------------------------------------------------
install -D -m 0755 "$src/tests/tools/sandbox_probe.py" "$RS_ROOT/usr/local/lib/haf-test/probe"
mkdir -p "$RS_ROOT/run/systemd/system/$SVC.d"
printf '[Service]\nType=oneshot\nExecStart=\nExecStart=/usr/local/lib/haf-test/probe /var/lib/hsm-audit-forwarder\nExecReload=\nWatchdogSec=0\nRestart=no\n' \
    >"$RS_ROOT/run/systemd/system/$SVC.d/probe.conf"
sctl daemon-reload
t_p=$(date +%s)
TMO=30 cx systemctl start "$SVC"
probe=$(cx journalctl -b --no-pager -o cat -u "$SVC" --since=@"$t_p" | grep '^probe:')
expect_probe() { # PATTERN WHAT
    grep -qE "$1" <<<"$probe" && rs_ok "probe: $2" || rs_bad "probe: $2 (want /$1/)"
}
expect_probe '^probe: write /etc .*DENIED' "/etc not writable"
expect_probe '^probe: write /usr .*DENIED' "/usr not writable"
expect_probe '^probe: write state dir .* allowed' "state directory writable"
expect_probe '^probe: list /home .*(DENIED|allowed: \[\])' "/home hidden"
expect_probe '^probe: socket AF_NETLINK .*DENIED' "AF_NETLINK refused"
expect_probe '^probe: socket AF_PACKET .*DENIED' "AF_PACKET refused"
expect_probe '^probe: mmap W\+X .*DENIED' "W+X memory refused"
expect_probe '^probe: unshare\(CLONE_NEWUSER\) .*DENIED' "user namespaces refused"
expect_probe '^probe: chroot .*DENIED' "chroot refused"
expect_probe '^probe: bpf .*DENIED' "bpf refused"
expect_probe '^probe: clock settimeofday .*DENIED' "setting the clock refused"
expect_probe '^probe: other pids in /proc .*allowed: \[\]' "other processes invisible"
expect_probe '^probe: done' "probe ran to the end"
rm -rf "$RS_ROOT/run/systemd/system/$SVC.d"
sctl daemon-reload
rs_say "the whole scenario took $(($(date +%s) - RS_T0)) s"
exit 0
