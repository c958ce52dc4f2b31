#!/usr/bin/env bash
# package_debootstrap: the first hour of a new user, on a clean system. The .deb built with the
# README's command goes into a minimal Debian 12 root (debootstrap minbase + systemd, cached by
# tests/tools/debian_root.sh with the package's dependencies already downloaded) booted under a
# real systemd (tests/tools/real_systemd.sh); `dpkg -i` installs it and `apt-get -f install`
# resolves its dependencies from the cache (the container has no network but loopback). Then, as
# the README's Quick start says: postinst made the user, the 0700 state directory and the 0640
# configuration, and left the unit disabled; configure (moto_server with IAM auth on, in this
# test's network namespace); enable --now; a file in /var/log/cloudhsm/audit arrives in
# CloudWatch Logs; a file the service user may not read is reported at warning level with its
# path, the errno text and the fix, and arrives once the drop-in gives the group; reload; an
# invalid configuration at start fails once with no restart loop; stop; `dpkg -r` keeps the
# configuration and the user; `dpkg --purge` removes the configuration and the state, and leaves
# no dangling unit symlink.
# Needs root; skips (77) without debootstrap, without namespaces, or when the Debian mirror cannot
# be reached for the first, cached, root. About 60 s once the root is cached (the first run adds
# about 90 s of debootstrap).
set -uo pipefail
src=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tests/tools/real_systemd.sh"
source "$src/tests/tools/debian_root.sh"
rs_check || exit 77
command -v debootstrap >/dev/null || { echo "debootstrap not installed: skipped"; exit 77; }
for tool in cmake cpack dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
done

if [ -z "${HAF_RS_NETNS:-}" ]; then
    # The package and the root are made before leaving the host's network (debootstrap needs it).
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    readme_cmd=$(grep -E '^ *cmake -B build .*cpack -G DEB$' "$src/README.md" | head -n 1 | sed 's/^ *//')
    mkdir -p "$work/src"
    (cd "$src" && tar --exclude='./build*' --exclude='./.git' -cf - .) | tar -xf - -C "$work/src"
    t0=$(date +%s)
    if ! (cd "$work/src" && bash -euo pipefail -c "$readme_cmd") >"$work/build.log" 2>&1; then
        tail -n 30 "$work/build.log"; echo "FAIL: the README's package build command failed"; exit 1
    fi
    deb=$(ls "$work"/src/build/hsm-audit-forwarder_*.deb)
    echo "built $(basename "$deb") in $(($(date +%s) - t0)) s"
    deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | sed '/^$/d' | sort -u)
    t0=$(date +%s)
    root=$(debian_root_get $deps) || { echo "no Debian root (see above): skipped"; exit 77; }
    echo "Debian root $root ready in $(($(date +%s) - t0)) s (cache /var/cache/hsm-audit-forwarder-tests)"
    cp "$deb" "$work/pkg.deb"
    HAF_RS_NETNS=1 HAF_DEB=$work/pkg.deb HAF_ROOT=$root unshare --net -- "$0" "$@"
    exit $?
fi

ip link set lo up || { echo "cannot bring up lo in the new network namespace"; exit 1; }
export MOTO_NO_TRAP=1
source "$src/tests/tools/moto.sh"
trap moto_stop EXIT
moto_start us-east-1 || exit $?
work=$(mktemp -d)
rs_extra_cleanup() { moto_stop; rm -rf "$work"; }
export RS_NET=inherit RS_DEADLINE=${RS_DEADLINE:-240}
SVC=hsm-audit-forwarder.service
CONF=/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml
AUDIT=/var/log/cloudhsm/audit
G=/cloudhsm/package
rs_boot "$HAF_ROOT" || exit 1

# ---- install: dpkg, then apt resolves the dependencies from the cache ------------------------------
cp "$HAF_DEB" "$RS_ROOT/tmp/hsm-audit-forwarder.deb"
TMO=60 cx dpkg -i /tmp/hsm-audit-forwarder.deb >"$work/dpkg.log" 2>&1
grep -qE 'dependency problems|depends on' "$work/dpkg.log" && rs_say "dpkg -i: dependencies missing, as expected on a minimal system"
if TMO=120 cx env DEBIAN_FRONTEND=noninteractive apt-get -f install -y --no-download \
    --no-install-recommends >"$work/apt.log" 2>&1; then
    rs_ok "apt-get -f install resolved the dependencies offline: $(grep -oE '^[0-9]+ upgraded, [0-9]+ newly installed' "$work/apt.log")"
else
    tail -n 20 "$work/apt.log"
    rs_bad "apt-get -f install failed"
    exit 1
fi
[ "$(cx dpkg-query -W -f '${Status}' hsm-audit-forwarder)" = "install ok installed" ] &&
    rs_ok "hsm-audit-forwarder installed" || rs_bad "not installed: $(cx dpkg-query -W -f '${Status}' hsm-audit-forwarder)"
cx test -f /etc/ssl/certs/ca-certificates.crt && rs_ok "ca-certificates came with it" || rs_bad "no CA bundle"
ent=$(cx getent passwd hsm-audit-forwarder)
[[ "$ent" == *:/var/lib/hsm-audit-forwarder:/usr/sbin/nologin ]] && rs_ok "system user: $ent" || rs_bad "user: $ent"
[ "$(cx stat -c '%a %U' /var/lib/hsm-audit-forwarder)" = "700 hsm-audit-forwarder" ] &&
    rs_ok "state directory 0700" || rs_bad "state directory: $(cx stat -c '%a %U' /var/lib/hsm-audit-forwarder)"
[ "$(cx stat -c '%a %U:%G' "$CONF")" = "640 root:hsm-audit-forwarder" ] && rs_ok "configuration root:hsm-audit-forwarder 0640" ||
    rs_bad "configuration: $(cx stat -c '%a %U:%G' "$CONF")"
[ "$(sctl is-enabled "$SVC" 2>/dev/null)" = disabled ] && rs_ok "the unit is installed and left disabled" ||
    rs_bad "unit state after install: $(sctl is-enabled "$SVC" 2>&1)"

# ---- configure, enable, ship a file --------------------------------------------------------------
cx sed -i -e "s#^\#region: .*#region: us-east-1#" -e "s#^\#endpoint: .*#endpoint: $MOTO_URL#" \
    -e "s#^  - path: .*#  - path: $AUDIT/*.log#" -e "s#^    log_group: .*#    log_group: $G#" \
    -e 's#^    log_stream: .*#    log_stream: "{file}"#' -e 's#^  flush_interval_ms: .*#  flush_interval_ms: 200#' "$CONF"
printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nAWS_EC2_METADATA_DISABLED=true\n' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$RS_ROOT/etc/default/hsm-audit-forwarder"
cx cp -p "$CONF" /root/with-region.yaml
cx sed -i '/^region: /d' "$CONF"
out=$(cx env -u AWS_REGION -u AWS_DEFAULT_REGION AWS_EC2_METADATA_DISABLED=true hsm-audit-forwarder --check-config 2>&1 >/dev/null)
rc=$?
quote=$(grep -oE '``/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml: no AWS region: [^`]*(`[^`]*`[^`]*)*``' "$src/README.md" | head -n 1 | sed 's/^``//; s/``$//')
[ $rc = 1 ] && [ "$(head -n 1 <<<"$out")" = "$quote" ] &&
    rs_ok "--check-config without a region: exit 1, the README's words" || rs_bad "--check-config without a region (rc $rc): $out"
cx cp -p /root/with-region.yaml "$CONF"
out=$(cx hsm-audit-forwarder --check-config 2>&1)
rc=$?
[ $rc = 0 ] && [ "$(tail -n 1 <<<"$out")" = "# $CONF: configuration OK" ] && grep -qF "\`$(tail -n 1 <<<"$out")\`" "$src/README.md" &&
    rs_ok "--check-config: $(tail -n 1 <<<"$out") (as the README says)" || { rs_bad "--check-config (rc $rc)"; echo "$out"; }
cx mkdir -p "$AUDIT"
cx groupadd --system cloudhsm-audit
python3 "$src/tests/bench/gen_audit.py" -n 30 --start-seq 0 --reboot 263 \
    --start-usecs "$(($(date +%s%N) / 1000))" >"$work/a.log"
install -m 0644 "$work/a.log" "$RS_ROOT$AUDIT/a.log"
t_start=$(date +%s)
TMO=60 cx systemctl enable --now "$SVC" >/dev/null 2>&1
[ "$(sctl is-active "$SVC")" = active ] && [ "$(sctl is-enabled "$SVC")" = enabled ] &&
    rs_ok "systemctl enable --now: active, enabled" || { rs_bad "enable --now"; rs_jnl "$SVC"; exit 1; }
count() { moto_get_events "$G" "$1" 2>/dev/null | wc -l; }
got30() { [ "$(count a.log)" -ge 30 ]; }
rs_wait 20 got30 && [ "$(count a.log)" = 30 ] && rs_ok "a.log: 30 entries in CloudWatch Logs" ||
    rs_bad "a.log: $(count a.log) entries arrived, want 30"

# ---- a file the service may not read: reported, then readable through the group -------------------
python3 "$src/tests/bench/gen_audit.py" -n 10 --start-seq 100 --reboot 263 \
    --start-usecs "$(($(date +%s%N) / 1000))" >"$work/b.log"
install -m 0640 "$work/b.log" "$RS_ROOT$AUDIT/b.log"
cx chgrp cloudhsm-audit "$AUDIT/b.log"
t_b=$(date +%s)
warned() { rs_jnl "$SVC" "$t_b" 4 | grep "$AUDIT/b.log.*Permission denied" >/dev/null; }
if rs_wait 20 warned; then
    w=$(rs_jnl "$SVC" "$t_b" 4 | grep "$AUDIT/b.log.*Permission denied" | head -n 1)
    rs_ok "unreadable file reported: $w"
    grep -q 'SupplementaryGroups=cloudhsm-audit' <<<"$w" && rs_ok "the message names the fix" ||
        rs_bad "the message does not say SupplementaryGroups=cloudhsm-audit"
    # The README's Quick start quotes it word for word (for a file named hsm.log).
    quote=$(grep -oE '`cannot read /var/log/cloudhsm/audit/hsm\.log: [^`]*`' "$src/README.md" | head -n 1 | tr -d '`')
    said=${w#*]: }
    [ -n "$quote" ] && [ "${said//b.log/hsm.log}" = "$quote" ] && rs_ok "the README quotes this message word for word" ||
        rs_bad "README quote differs: '$quote' vs '${said//b.log/hsm.log}'"
    stx=$(rs_show "$SVC" StatusText)
    [[ "$stx" == *", 1 unreadable, "* ]] && rs_ok "STATUS=$stx" || rs_bad "STATUS= does not count the unreadable file: $stx"
else
    rs_bad "no warning about the unreadable $AUDIT/b.log within 20 s"
    rs_jnl "$SVC" "$t_b"
fi
mkdir -p "$RS_ROOT/etc/systemd/system/$SVC.d"
printf '[Service]\nSupplementaryGroups=cloudhsm-audit\n' >"$RS_ROOT/etc/systemd/system/$SVC.d/audit-group.conf"
sctl daemon-reload
TMO=100 cx systemctl restart "$SVC"
got10() { [ "$(count b.log)" -ge 10 ]; }
rs_wait 20 got10 && [ "$(count b.log)" = 10 ] && [ "$(count a.log)" = 30 ] &&
    rs_ok "with SupplementaryGroups=cloudhsm-audit: b.log's 10 entries arrived, a.log not sent again" ||
    rs_bad "after the drop-in: b.log $(count b.log)/10, a.log $(count a.log)/30"

# ---- reload, bad config at start, stop -------------------------------------------------------------
TMO=100 cx systemctl reload "$SVC" && [ "$(sctl is-active "$SVC")" = active ] && rs_ok "systemctl reload" ||
    rs_bad "systemctl reload"
TMO=100 cx systemctl stop "$SVC"
cx sh -c "cp -p '$CONF' /root/cfg.good && echo 'no_such_key: 1' >> '$CONF'"
t_bs=$(date +%s)
TMO=30 cx systemctl start "$SVC" 2>/dev/null && rs_bad "start with an invalid config succeeded"
sleep 8
st="$(sctl is-active "$SVC")/$(rs_show "$SVC" NRestarts)"
[ "$st" = failed/0 ] && rs_ok "invalid config at start: failed, no restart after 8 s" || rs_bad "invalid config at start: $st (state/NRestarts)"
rs_jnl "$SVC" "$t_bs" 3 | grep -E "$CONF:[0-9]+:[0-9]+: " >/dev/null && rs_ok "the file:line:column is at priority err" ||
    rs_bad "no file:line:column at priority err"
cx sh -c "cp -p /root/cfg.good '$CONF'"
sctl reset-failed "$SVC"
TMO=60 cx systemctl start "$SVC" && TMO=100 cx systemctl stop "$SVC"
[ "$(rs_show "$SVC" Result)" = success ] && rs_ok "start and stop with the config restored: Result=success" ||
    rs_bad "stop: Result=$(rs_show "$SVC" Result)"

# ---- remove, purge ---------------------------------------------------------------------------------
TMO=60 cx dpkg -r hsm-audit-forwarder >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; rs_bad "dpkg -r"; }
cx test -f "$CONF" && cx getent passwd hsm-audit-forwarder >/dev/null && ! cx test -e /usr/bin/hsm-audit-forwarder &&
    rs_ok "dpkg -r: binary gone, configuration and user kept" || rs_bad "dpkg -r left the wrong things"
TMO=60 cx dpkg --purge hsm-audit-forwarder >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; rs_bad "dpkg --purge"; }
! cx test -e "$CONF" && ! cx test -e /var/lib/hsm-audit-forwarder && rs_ok "purge: configuration and state gone" ||
    rs_bad "purge left the configuration or the state"
dangling=$(cx find /etc/systemd/system -xtype l -name "$SVC")
[ -z "$dangling" ] && ! cx test -L "/etc/systemd/system/multi-user.target.wants/$SVC" &&
    rs_ok "no unit symlink left in /etc/systemd/system" || rs_bad "left behind: $dangling"
rs_say "the scenario took $(($(date +%s) - RS_T0)) s inside the container"
exit 0
