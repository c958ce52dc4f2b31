# real_systemd.sh: a sourceable bash library that boots a REAL systemd (PID 1 of fresh pid, mount,
# uts, ipc and cgroup namespaces, and a fresh network namespace unless RS_NET=inherit) whose root
# is a tmpfs overlay over this machine's / or over a given tree (a debootstrap root), and drives
# units in it from outside with nsenter. No package is needed beyond util-linux, libcap2-bin
# (capsh) and systemd; about 5 s to boot. Adapted from the project's one-shot real-systemd tool
# into functions, so each scenario (tests/integration/systemd_real.sh, package_debootstrap.sh)
# drives its own steps.
#
#   source "$HAF_SOURCE_DIR/tests/tools/real_systemd.sh"
#   rs_check || exit 77           # prints why when this machine cannot (not root, no namespaces)
#   rs_boot [ROOTFS]              # boots; sets RS_CPID (container init), RS_ROOT (/proc/PID/root)
#   cx CMD...                     # run CMD inside (all namespaces), bounded by $TMO (default 30 s)
#   sctl ARGS...                  # systemctl --no-pager ARGS inside
#   rs_show UNIT PROP             # systemctl show -p PROP --value
#   rs_jnl UNIT [SINCE] [PRIO]    # the unit's journal as "pN ident[pid]: message" lines
#                                 (match it with grep >/dev/null, not grep -q: under pipefail a
#                                 grep that stops early fails the pipeline with SIGPIPE)
#   rs_install_service BIN UNIT CONF [ENVFILE]  # install as a package would (user, 0640 config)
#   rs_teardown                   # poweroff, kill by PID, remove the cgroup (the EXIT trap)
#
# Knobs: RS_NET=inherit shares the caller's network namespace (the caller made a private one, so a
# moto_server it runs on 127.0.0.1 is reachable from the service); RS_DEADLINE (default 300 s)
# kills the container and makes the script fail when it runs out; RS_KEEP=1 keeps the run
# directory. Every process started here is stopped by PID; nothing is mounted outside the new
# mount namespace; the only host changes are a transient cgroup and /tmp/haf-rs/run.*, both
# removed by rs_teardown. rs_ok/rs_bad print "ok:"/"FAIL:" lines and count failures in RS_FAILS.
export SYSTEMD_COLORS=0 SYSTEMD_PAGER= LC_ALL=C.UTF-8
RS_T0=$(date +%s)
RS_FAILS=0
RS_UPID=
RS_CPID=
RS_SELFKILL=
RS_RUN=
RS_CG=

rs_say() { printf '[%3ss] %s\n' $(($(date +%s) - RS_T0)) "$*"; }
rs_ok() { rs_say "ok: $*"; }
rs_bad() {
    rs_say "FAIL: $*"
    RS_FAILS=$((RS_FAILS + 1))
}

rs_cgroup_root() {
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup/unified
    fi
}

# rs_check: 0 when a real systemd can be booted here; otherwise prints the reason (for a skip).
rs_check() {
    local t
    [ "$(id -u)" = 0 ] || { echo "real systemd: needs root (namespaces, mounts): skipped"; return 1; }
    for t in unshare nsenter capsh; do
        command -v "$t" >/dev/null || { echo "real systemd: $t not installed: skipped"; return 1; }
    done
    [ -x /lib/systemd/systemd ] || { echo "real systemd: /lib/systemd/systemd not installed: skipped"; return 1; }
    [ -n "$(rs_cgroup_root)" ] || { echo "real systemd: no cgroup2 hierarchy here: skipped"; return 1; }
    if ! unshare --pid --fork --mount --uts --ipc --cgroup --net true 2>/dev/null; then
        echo "real systemd: creating namespaces is not allowed here (unshare failed): skipped"
        return 1
    fi
    if ! unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /mnt' 2>/dev/null; then
        echo "real systemd: mounting in a private namespace is not allowed here: skipped"
        return 1
    fi
    return 0
}

cx() { timeout "${TMO:-30}" nsenter -t "$RS_CPID" -m -p -u -i -n -C "$@"; }
sctl() { cx systemctl --no-pager "$@"; }
rs_show() { sctl show "$1" -p "$2" --value; }

# rs_jnl UNIT [SINCE-EPOCH] [PRIORITY]: the unit's lines (and PID 1's about it) with their priority.
rs_jnl() {
    cx journalctl -b --no-pager -o json --output-fields=PRIORITY,MESSAGE,SYSLOG_IDENTIFIER,_PID \
        ${3:+-p "$3"} "_SYSTEMD_UNIT=$1" + "UNIT=$1" ${2:+--since=@$2} | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l); m = e.get("MESSAGE", "")
    m = bytes(m).decode(errors="replace") if isinstance(m, list) else m
    print("p%s %s[%s]: %s" % (e.get("PRIORITY", "?"), e.get("SYSLOG_IDENTIFIER", "?"), e.get("_PID", ""), m))'
}

# rs_wait SECONDS CMD...: until CMD succeeds (0) or the time is out (1).
rs_wait() {
    local n=$(($1 * 5))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

rs_teardown() {
    local _
    trap - EXIT INT TERM
    set +e
    [ -n "$RS_SELFKILL" ] && kill "$RS_SELFKILL" 2>/dev/null
    if [ -n "$RS_CPID" ] && kill -0 "$RS_CPID" 2>/dev/null; then
        timeout 10 nsenter -t "$RS_CPID" -m -p -u -i -n -C systemctl poweroff --no-block >/dev/null 2>&1
        for _ in $(seq 100); do kill -0 "$RS_UPID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$RS_CPID" 2>/dev/null && { rs_say "teardown: SIGKILL container init $RS_CPID"; kill -KILL "$RS_CPID"; }
    fi
    [ -n "$RS_UPID" ] && { kill -0 "$RS_UPID" 2>/dev/null && kill -KILL "$RS_UPID"; wait "$RS_UPID" 2>/dev/null; }
    [ "$(type -t rs_extra_cleanup)" = function ] && rs_extra_cleanup
    if [ -n "$RS_CG" ]; then
        for _ in $(seq 25); do
            [ -d "$RS_CG" ] || break
            find "$RS_CG" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$RS_CG" ] && sleep 0.2
        done
        [ -d "$RS_CG" ] && rs_bad "cgroup $RS_CG could not be removed"
    fi
    if [ -n "$RS_RUN" ]; then
        [ "${RS_KEEP:-0}" = 1 ] && rs_say "run directory kept: $RS_RUN" || rm -rf "$RS_RUN"
    fi
    rs_say "done: $RS_FAILS failure(s)"
    [ "$RS_FAILS" = 0 ] && exit 0 || exit 1
}

# rs_boot [ROOTFS]: PID 1 of the new namespaces builds the root and execs systemd; returns when
# `systemctl is-system-running --wait` says running (1 otherwise, with the reason printed).
rs_boot() {
    local lower=${1:-/} cgr st net=--net _
    [ "${RS_NET:-}" = inherit ] && net=
    cgr=$(rs_cgroup_root)
    mkdir -p /tmp/haf-rs
    RS_RUN=$(mktemp -d /tmp/haf-rs/run.XXXXXX)
    RS_CG=$cgr/haf-rs.${RS_RUN##*.}
    trap rs_teardown EXIT
    trap 'rs_bad "interrupted or out of time"; exit 1' INT TERM
    # The deadline kills the container (which unblocks any nsenter in progress), then the script.
    (
        trap 'kill $sp 2>/dev/null; exit 0' TERM
        sleep "${RS_DEADLINE:-300}" &
        sp=$!
        wait $sp
        [ -s "$RS_RUN/cpid" ] && kill -KILL "$(cat "$RS_RUN/cpid")" 2>/dev/null
        kill -TERM $$
    ) &
    RS_SELFKILL=$!
    cat >"$RS_RUN/init.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
R=$1/root W=$1/w L=${2:-/}
mkdir -p "$R" "$W"
mount -t tmpfs -o mode=755 tmpfs "$W"; mkdir "$W/u" "$W/w"
mount -t overlay overlay -o "lowerdir=$L,upperdir=$W/u,workdir=$W/w" "$R"
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
for p in sys sysrq-trigger; do [ -e "$R/proc/$p" ] || continue   # keep host sysctls out of reach
    mount --bind "$R/proc/$p" "$R/proc/$p"; mount -o remount,bind,ro "$R/proc/$p"; done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"             # ro /sys: no udev in here
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"  # root = our cgroup (cgroupns)
mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"; ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"; mount -t mqueue mqueue "$R/dev/mqueue"
touch "$1/console" "$R/dev/console"; mount --bind "$1/console" "$R/dev/console"
ln -s /proc/self/fd "$R/dev/fd"; for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$R/dev/${i#*:}"; done
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"; mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mkdir -p "$R/etc/systemd/system"; echo real-systemd > "$R/etc/hostname"; rm -f "$R/.dockerenv"
printf '[Unit]\nDescription=real-systemd boot target\nRequires=basic.target\nAfter=basic.target\n' \
    > "$R/etc/systemd/system/real-systemd.target"
# host units that must not run in here (timers, databases, gettys, network setup)
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
         man-db.timer postgresql.service getty@tty1.service console-getty.service \
         systemd-timesyncd.service systemd-networkd.service networking.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"; done
hostname real-systemd; mkdir -p "$R/.oldroot"; cd "$R"; pivot_root . .oldroot
exec chroot . /bin/sh -c 'umount -l /.oldroot && rmdir /.oldroot
  exec env -i container=real-systemd TERM=dumb /lib/systemd/systemd systemd.unit=real-systemd.target'
EOF
    chmod 755 "$RS_RUN/init.sh"
    mkdir "$RS_CG" || { rs_bad "cannot create cgroup $RS_CG"; return 1; }
    # shellcheck disable=SC2086
    (echo "$BASHPID" >"$RS_CG/cgroup.procs" && exec unshare --pid --fork --kill-child --mount --uts \
        --ipc $net --cgroup capsh --drop=cap_sys_module,cap_sys_rawio,cap_sys_time,cap_mac_admin,cap_mac_override,cap_wake_alarm,cap_block_suspend,cap_syslog \
        -- "$RS_RUN/init.sh" "$RS_RUN" "$lower") >"$RS_RUN/unshare.log" 2>&1 &
    RS_UPID=$!
    for _ in $(seq 50); do
        RS_CPID=$(tr -d ' ' <"/proc/$RS_UPID/task/$RS_UPID/children" 2>/dev/null)
        [ -n "$RS_CPID" ] && break
        sleep 0.1
    done
    [ -n "$RS_CPID" ] || { cat "$RS_RUN/unshare.log"; rs_bad "container init did not start"; return 1; }
    echo "$RS_CPID" >"$RS_RUN/cpid"
    RS_ROOT=/proc/$RS_CPID/root
    for _ in $(seq 100); do
        [ -S "$RS_ROOT/run/systemd/private" ] && break
        kill -0 "$RS_CPID" 2>/dev/null || break
        sleep 0.2
    done
    st=$(TMO=60 cx systemctl is-system-running --wait 2>/dev/null)
    case "$st" in
    running) rs_ok "systemd booted: $(cx systemctl --version | head -1), state $st" ;;
    degraded)
        rs_bad "systemd booted degraded"
        sctl --failed
        ;;
    *)
        cat "$RS_RUN/unshare.log"
        rs_bad "systemd did not boot (state '$st')"
        return 1
        ;;
    esac
}

# rs_install_service BIN UNIT CONF [ENVFILE]: what the package does, without the package: the
# unit's User=/Group= as a system user, BIN at ExecStart='s path, UNIT in /etc/systemd/system,
# CONF at /etc/NAME/NAME.yaml root:GROUP 0640, ENVFILE at /etc/default/NAME.
rs_install_service() {
    local bin=$1 unit=$2 conf=$3 envf=${4:-} n user group dest
    n=$(basename "$unit" .service)
    user=$(sed -n 's/^User=//p' "$unit" | tail -1)
    group=$(sed -n 's/^Group=//p' "$unit" | tail -1)
    dest=$(sed -n 's/^ExecStart=//p' "$unit" | tail -1 | awk '{print $1}' | sed 's/^[-@:+!]*//')
    if [ -n "$user" ] && ! cx getent passwd "$user" >/dev/null; then
        cx groupadd --system "${group:-$user}" 2>/dev/null
        cx useradd --system --gid "${group:-$user}" --no-create-home --home-dir "/var/lib/$n" \
            --shell /usr/sbin/nologin "$user" || return 1
    fi
    install -D -m 0755 "$bin" "$RS_ROOT$dest" &&
        install -D -m 0644 "$unit" "$RS_ROOT/etc/systemd/system/$n.service" &&
        install -D -m 0640 "$conf" "$RS_ROOT/etc/$n/$n.yaml" || return 1
    cx chown "root:${group:-root}" "/etc/$n/$n.yaml" || return 1
    [ -z "$envf" ] || install -D -m 0644 "$envf" "$RS_ROOT/etc/default/$n" || return 1
    sctl daemon-reload
}
