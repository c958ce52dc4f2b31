#!/usr/bin/env bash
# package_deb: builds the Debian package with the README's own command (a Release build with the
# default prefix: the package must be a /usr package whatever the prefix) and checks it. lintian
# (scripts/install-deps.sh installs it) must report no error, and every warning it reports must be
# overridden with its reason; the packaged binary must carry the hardening flags (PIE, full RELRO
# with BIND_NOW, stack protector, fortified libc calls), read with readelf as hardening-check does. `dpkg-deb -c`: the binary, the unit, the configuration (0640, a
# conffile), both man pages (gzipped) and the CloudWatch documentation are at their paths.
# `dpkg-deb -I`: the library dependencies and adduser, the maintainer scripts (system user, 0700
# state directory). `dpkg-deb -x`: the unit runs the installed binary, which starts. Then a real
# `dpkg -i` into a copy-on-write overlay of this machine's root inside a private mount namespace
# (the host is never touched): postinst creates the system user and group, /var/lib/... 0700 owned
# by them, the configuration root:group 0640, the unit left disabled; a reinstall keeps a locally
# edited configuration; `dpkg --purge` removes the state directory and keeps the user. When
# rpmbuild is installed, the RPM is built too and its scriptlets, %config(noreplace) and
# requirements are checked. Skips (77) without cpack or dpkg-deb.
set -euo pipefail

src=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
for tool in cmake cpack dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
ok() { echo "ok: $*"; }

# 1. The README's package build command, verbatim, in a copy of the source tree (it has no
# -DCMAKE_INSTALL_PREFIX: the package must be a /usr package anyway).
readme_cmd=$(grep -E '^ *cmake -B build .*cpack -G DEB$' "$src/README.md" | head -n 1 | sed 's/^ *//')
[ -n "$readme_cmd" ] || { echo "FAIL: no package build command (cmake -B build ... cpack -G DEB) in README.md"; exit 1; }
echo "README command: $readme_cmd"
mkdir -p "$work/src"
(cd "$src" && tar --exclude='./build*' --exclude='./.git' -cf - .) | tar -xf - -C "$work/src"
if ! (cd "$work/src" && bash -euo pipefail -c "$readme_cmd") >"$work/readme-build.log" 2>&1; then
    tail -n 40 "$work/readme-build.log"; exit 1
fi
ln -s "$work/src/build" "$work/build" # the build tree must stay where CMake made it (cpack -G RPM)
deb=$(ls "$work"/build/hsm-audit-forwarder_*.deb)
echo "built $(basename "$deb")"

# 2. Contents.
contents=$(dpkg-deb -c "$deb")
expect_file() { # MODE PATH
    if echo "$contents" | awk -v m="$1" -v p="./$2" '$1 == m && $6 == p { found = 1 } END { exit !found }'; then
        ok "$1 /$2"
    else
        bad "missing or wrong mode: $1 /$2"
    fi
}
expect_file -rwxr-xr-x usr/bin/hsm-audit-forwarder
expect_file -rw-r--r-- usr/lib/systemd/system/hsm-audit-forwarder.service
expect_file -rw-r----- etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml
expect_file -rw-r--r-- usr/share/man/man8/hsm-audit-forwarder.8.gz
expect_file -rw-r--r-- usr/share/man/man5/hsm-audit-forwarder.yaml.5.gz
expect_file -rw-r--r-- usr/share/doc/hsm-audit-forwarder/hsm-audit-forwarder.yaml
expect_file -rw-r--r-- usr/share/doc/hsm-audit-forwarder/copyright
expect_file -rw-r--r-- usr/share/doc/hsm-audit-forwarder/changelog.gz
expect_file -rw-r--r-- usr/share/lintian/overrides/hsm-audit-forwarder
if echo "$contents" | awk '{ print $6 }' | grep -q '^\./usr/local/'; then
    bad "the package ships files under /usr/local"
fi
if [ -d "$src/conf/cloudwatch" ]; then
    for f in $(cd "$src/conf/cloudwatch" && find . -type f | sed 's#^\./##'); do
        expect_file -rw-r--r-- "usr/share/doc/hsm-audit-forwarder/cloudwatch/$f"
    done
fi
if echo "$contents" | awk '{ print $6 }' | grep -q '^\./var/'; then
    bad "the package ships /var (the state directory is made by postinst and systemd)"
fi
if echo "$contents" | awk '{ print $2 }' | grep -qv '^root/root$'; then
    bad "a file is not owned by root/root in the archive"
fi

# 3. Control information.
info=$(dpkg-deb -I "$deb")
depends=$(dpkg-deb -f "$deb" Depends)
for dep in adduser ca-certificates libc6 libcurl4 libjansson4 libyaml-0-2 libssl3 zlib1g; do
    grep -qE "(^|, )$dep( |,|$)" <<<"$depends" && ok "Depends on $dep" || bad "Depends lacks $dep: $depends"
done
# The hand-written Depends (cmake/install.cmake, used where dpkg-shlibdeps is missing) must name
# every package dpkg-shlibdeps found for this binary.
fallback=$(sed -n '/^else()$/,/^endif()$/p' "$src/cmake/install.cmake" |
    sed -n 's/^ *"\(adduser, .*\)")$/\1/p')
[ -n "$fallback" ] || bad "no fallback Depends found in cmake/install.cmake"
for dep in $(tr ',' '\n' <<<"$depends" | sed 's/(.*//; s/|.*//; s/ //g' | sed '/^$/d'); do
    grep -qE "(^|, )$dep(,|$)" <<<"$fallback" || bad "the fallback Depends lacks $dep: $fallback"
done
# One contact everywhere: the Maintainer field, the copyright's Upstream-Contact and the
# changelog's trailer (a placeholder under the reserved .invalid domain unless a site build sets
# HAF_PACKAGE_MAINTAINER; lintian accepts it, see 3b).
maint=$(dpkg-deb -f "$deb" Maintainer)
grep -qxF "Upstream-Contact: $maint" "$src/packaging/deb/copyright" &&
    ok "copyright Upstream-Contact is the Maintainer ($maint)" ||
    bad "copyright Upstream-Contact is not the Maintainer ($maint)"
grep -qE "^ -- $(sed 's/[.]/[.]/g' <<<"$maint")  " "$src/packaging/deb/changelog" &&
    ok "changelog trailer names the Maintainer" || bad "changelog trailer does not name $maint"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = "/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml" ] &&
    ok "conffiles lists the configuration" || bad "conffiles: $(cat "$work/control/conffiles")"
for s in postinst prerm postrm; do
    [ -x "$work/control/$s" ] && ok "$s is executable" || bad "$s missing or not executable"
done
grep -qE 'adduser --system' "$work/control/postinst" && ok "postinst: adduser --system" || bad "postinst does not adduser --system"
grep -qE 'useradd --system' "$work/control/postinst" && ok "postinst: useradd --system fallback" || bad "postinst has no useradd fallback"
grep -qE 'chmod 0700 "\$STATE_DIR"' "$work/control/postinst" && ok "postinst: state dir 0700" || bad "postinst does not make the state dir 0700"
grep -q 'Section: admin' <<<"$info" || bad "Section is not admin"

# 3b. lintian: no error; warnings only with an override that says why.
if command -v lintian >/dev/null; then
    lintian_out=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v '^running with root privileges' || true)
    [ -n "$lintian_out" ] && echo "$lintian_out" | sed 's/^/  lintian: /'
    if grep -q '^E: ' <<<"$lintian_out"; then
        bad "lintian reports errors"
    elif grep -q '^W: ' <<<"$lintian_out"; then
        bad "lintian reports warnings without an override"
    else
        ok "lintian: no error, no warning left (overrides: $(dpkg-deb --fsys-tarfile "$deb" |
            tar -xOf - ./usr/share/lintian/overrides/hsm-audit-forwarder | grep -c '^hsm-audit-forwarder:'))"
    fi
else
    bad "lintian is not installed (scripts/install-deps.sh installs it)"
fi

# 4. Extracted tree.
dpkg-deb -x "$deb" "$work/x"
unit=$work/x/usr/lib/systemd/system/hsm-audit-forwarder.service
grep -qx 'ExecStart=/usr/bin/hsm-audit-forwarder -c /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml' "$unit" &&
    ok "unit runs /usr/bin/hsm-audit-forwarder" || bad "unit ExecStart is not /usr/bin/hsm-audit-forwarder"
if "$work/x/usr/bin/hsm-audit-forwarder" --version >"$work/version.txt" 2>&1; then
    ok "packaged binary runs: $(head -n 1 "$work/version.txt")"
else
    bad "packaged binary --version failed: $(cat "$work/version.txt")"
fi
if ! file "$work/x/usr/bin/hsm-audit-forwarder" | grep -q 'stripped' ||
    file "$work/x/usr/bin/hsm-audit-forwarder" | grep -q 'not stripped'; then
    bad "packaged binary is not stripped"
fi
# Hardening, as hardening-check (devscripts) reads it: PIE, full RELRO (GNU_RELRO + BIND_NOW),
# stack protector, fortified libc calls.
bin=$work/x/usr/bin/hsm-audit-forwarder
hdr=$(readelf -h "$bin")
dyn=$(readelf -d "$bin")
phd=$(readelf -lW "$bin")
syms=$(readelf --dyn-syms -W "$bin")
grep -q 'Type:[[:space:]]*DYN' <<<"$hdr" && grep -qE 'FLAGS_1.*PIE' <<<"$dyn" &&
    ok "hardening: Position Independent Executable: yes" || bad "hardening: not PIE"
grep -q 'GNU_RELRO' <<<"$phd" && grep -qE '\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW' <<<"$dyn" &&
    ok "hardening: Read-only relocations: yes; Immediate binding: yes" || bad "hardening: no full RELRO / BIND_NOW"
grep -q '__stack_chk_fail' <<<"$syms" && ok "hardening: Stack protected: yes" || bad "hardening: no stack protector"
nchk=$(grep -oE '__[a-z_]+_chk@' <<<"$syms" | sort -u | grep -vc '__stack_chk_fail' || true)
[ "$nchk" -gt 0 ] && ok "hardening: Fortify Source functions: yes ($nchk, e.g. $(grep -oE '__[a-z_]+_chk@' <<<"$syms" | grep -v stack | head -n 2 | tr -d @ | tr '\n' ' '))" ||
    bad "hardening: no fortified functions"
if command -v hardening-check >/dev/null; then
    hardening-check "$bin" | sed 's/^/  /'
    hardening-check --quiet "$bin" >/dev/null && ok "hardening-check passes" || bad "hardening-check fails"
fi
unit_text=$(cat "$unit")
grep -q '^[^#]*/bin/kill' <<<"$unit_text" && ! grep -qE '(^|, )procps( |,|$)' <<<"$depends" &&
    bad "the unit uses /bin/kill but the package does not depend on procps"
for page in man8/hsm-audit-forwarder.8.gz man5/hsm-audit-forwarder.yaml.5.gz; do
    if command -v groff >/dev/null; then
        w=$(zcat "$work/x/usr/share/man/$page" | groff -man -Tutf8 -ww -z 2>&1) || true
        [ -z "$w" ] && ok "$page renders" || bad "$page: $w"
    fi
done
# The packaged binary on the packaged configuration (what ExecStartPre runs after installation).
if out=$(AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    "$work/x/usr/bin/hsm-audit-forwarder" --check-config \
    -c "$work/x/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml" 2>&1); then
    ok "packaged binary accepts the packaged configuration"
elif grep -q 'not built yet' <<<"$out"; then
    echo "note: --check-config not implemented yet: $out"
else
    bad "packaged binary rejects the packaged configuration: $out"
fi

# 5. A real dpkg -i / reinstall / purge in a throwaway copy-on-write root.
sandbox() {
    cat >"$work/sandbox.sh" <<'SANDBOX'
set -euo pipefail
deb=$1 t=$2
mount -t tmpfs tmpfs "$t"
mkdir -p "$t/upper" "$t/work" "$t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root" 2>/dev/null ||
    exit 3 # no overlayfs here: the caller reports the sandbox as skipped
mount --rbind /dev "$t/root/dev"
mount -t proc proc "$t/root/proc"
r=$t/root
in_root() { chroot "$r" "$@"; }
dpkg --root="$r" --force-depends -i "$deb" >"$t/dpkg-i.log" 2>&1 || { cat "$t/dpkg-i.log"; exit 1; }
echo "user: $(in_root getent passwd hsm-audit-forwarder)"
echo "group: $(in_root getent group hsm-audit-forwarder | cut -d: -f1)"
echo "state: $(in_root stat -c '%a %U:%G' /var/lib/hsm-audit-forwarder)"
echo "conf: $(in_root stat -c '%a %U:%G' /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml)"
if [ -e "$r/etc/systemd/system/multi-user.target.wants/hsm-audit-forwarder.service" ]; then
    echo "enabled: yes"
else
    echo "enabled: no"
fi
# A local edit survives a reinstall (the upgrade path of postinst, with $2 set).
echo "# local edit" >>"$r/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml"
dpkg --root="$r" --force-depends -i "$deb" >"$t/dpkg-i2.log" 2>&1 || { cat "$t/dpkg-i2.log"; exit 1; }
tail -n 1 "$r/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml" | sed 's/^/after reinstall: /'
echo "state after reinstall: $(in_root stat -c '%a %U:%G' /var/lib/hsm-audit-forwarder)"
dpkg --root="$r" --purge hsm-audit-forwarder >"$t/dpkg-p.log" 2>&1 || { cat "$t/dpkg-p.log"; exit 1; }
[ -e "$r/var/lib/hsm-audit-forwarder" ] && echo "state after purge: present" || echo "state after purge: gone"
[ -e "$r/etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml" ] && echo "conf after purge: present" || echo "conf after purge: gone"
in_root getent passwd hsm-audit-forwarder >/dev/null && echo "user after purge: kept" || echo "user after purge: gone"
SANDBOX
    mkdir -p "$work/sb"
    unshare --mount --propagation private bash "$work/sandbox.sh" "$deb" "$work/sb"
}
host_user_before=$(getent passwd hsm-audit-forwarder || true)
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
    echo "note: not root or no unshare: sandboxed dpkg -i skipped"
elif ! mkdir -p "$work/sb-probe" ||
    ! unshare --mount --propagation private mount -t tmpfs tmpfs "$work/sb-probe" 2>/dev/null; then
    echo "note: cannot mount in a private namespace here: sandboxed dpkg -i skipped"
else
    sandbox_rc=0
    report=$(sandbox 2>&1) || sandbox_rc=$?
    if [ "$sandbox_rc" -eq 3 ]; then
        echo "note: overlayfs cannot be mounted here: sandboxed dpkg -i skipped"
    elif [ "$sandbox_rc" -eq 0 ]; then
        echo "$report" | sed 's/^/  sandbox: /'
        expect() { grep -qxE -- "$1" <<<"$report" && ok "sandbox: $2" || bad "sandbox: $2 (want /$1/)"; }
        expect 'user: hsm-audit-forwarder:x:[0-9]+:[0-9]+:[^:]*:/var/lib/hsm-audit-forwarder:/usr/sbin/nologin' \
            "postinst created the system user, no login shell"
        expect 'group: hsm-audit-forwarder' "postinst created the group"
        expect 'state: 700 hsm-audit-forwarder:hsm-audit-forwarder' "state directory 0700, owned by the user"
        expect 'conf: 640 root:hsm-audit-forwarder' "configuration root:hsm-audit-forwarder 0640"
        expect 'enabled: no' "first install leaves the unit disabled"
        expect 'after reinstall: # local edit' "a reinstall keeps the edited conffile"
        expect 'state after reinstall: 700 hsm-audit-forwarder:hsm-audit-forwarder' "state directory kept on reinstall"
        expect 'state after purge: gone' "purge removes the state directory"
        expect 'conf after purge: gone' "purge removes the configuration"
        expect 'user after purge: kept' "purge keeps the system user"
        [ "$(getent passwd hsm-audit-forwarder || true)" = "$host_user_before" ] &&
            ok "the host's own users are untouched" || bad "the sandbox changed the host's users"
    else
        bad "sandboxed dpkg -i failed:"
        echo "$report"
    fi
fi

# 6. RPM, when rpmbuild is there.
if command -v rpmbuild >/dev/null && command -v rpm >/dev/null; then
    if (cd "$work/build" && cpack -G RPM) >"$work/cpack-rpm.log" 2>&1; then
        rpmf=$(ls "$work"/build/hsm-audit-forwarder-*.rpm)
        ok "built $(basename "$rpmf")"
        rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
            "$rpmf" >"$work/rpm-files.txt"
        grep -qxE 'cn -rw-r----- root:hsm-audit-forwarder /etc/hsm-audit-forwarder/hsm-audit-forwarder.yaml' \
            "$work/rpm-files.txt" && ok "rpm: %config(noreplace) root:hsm-audit-forwarder 0640" ||
            bad "rpm: config flags: $(grep yaml "$work/rpm-files.txt")"
        for p in /usr/bin/hsm-audit-forwarder /usr/lib/systemd/system/hsm-audit-forwarder.service \
            /usr/share/man/man8/hsm-audit-forwarder.8.gz /usr/share/man/man5/hsm-audit-forwarder.yaml.5.gz; do
            grep -q " $p\$" "$work/rpm-files.txt" && ok "rpm: $p" || bad "rpm: missing $p"
        done
        grep -qE ' /(etc|usr/lib/systemd/system|usr/share/man)$' "$work/rpm-files.txt" &&
            bad "rpm claims a system directory"
        scripts=$(rpm -qp --scripts "$rpmf")
        grep -q 'useradd --system' <<<"$scripts" && ok "rpm: %pre creates the system user" || bad "rpm: no useradd in %pre"
        grep -q 'chmod 0700 /var/lib/hsm-audit-forwarder' <<<"$scripts" && ok "rpm: %post state dir 0700" || bad "rpm: %post state dir"
        grep -q 'disable --now' <<<"$scripts" && ok "rpm: %preun stops on erase" || bad "rpm: %preun"
        reqs=$(rpm -qp --requires "$rpmf")
        for r in 'libcurl.so.4' 'libjansson.so.4' 'libyaml-0.so.2' 'libcrypto.so.3' 'shadow-utils'; do
            grep -q "^$r" <<<"$reqs" && ok "rpm requires $r" || bad "rpm does not require $r"
        done
    else
        bad "cpack -G RPM failed"; tail -n 30 "$work/cpack-rpm.log"
    fi
else
    echo "note: rpmbuild not installed: RPM not checked"
fi

[ "$fail" -eq 0 ] && echo "package_deb: passed" || echo "package_deb: FAILED"
exit "$fail"
