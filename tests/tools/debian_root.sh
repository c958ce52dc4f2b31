# debian_root.sh: a sourceable bash library that makes (once) and returns a minimal Debian 12 root
# for the package-install scenario: `debootstrap --variant=minbase` plus systemd, from the same
# Debian mirror this machine's apt uses, with apt's package lists and the .deb files of a given
# set of packages already downloaded into its apt cache, so that `apt-get install` inside it later
# needs no network.
#
#   source "$HAF_SOURCE_DIR/tests/tools/debian_root.sh"
#   root=$(debian_root_get PKG...) || exit 77     # prints why on stderr when it cannot
#
# The root is cached under /var/cache/hsm-audit-forwarder-tests/, in a directory keyed by the
# suite, the mirror and the package list (a changed list makes a new root; older ones are
# removed), so only the first run downloads (about 100 MB, a few minutes); later runs take no
# time here. Concurrent callers (the normal and the sanitizer build) wait on a lock. The root is
# only ever used as the read-only lower layer of an overlay: nothing changes it after it is made.
DEBIAN_ROOT_CACHE=${DEBIAN_ROOT_CACHE:-/var/cache/hsm-audit-forwarder-tests}

# The first deb.debian.org-style mirror and the suite of this machine's apt sources.
debian_root_mirror() {
    local m
    m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
        grep -v security | head -n 1)
    [ -n "$m" ] || m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' |
        grep -v security | head -n 1)
    echo "${m:-http://deb.debian.org/debian}"
}

debian_root_get() {
    local suite mirror key dir lock log rc
    command -v debootstrap >/dev/null || { echo "debootstrap not installed" >&2; return 1; }
    [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; return 1; }
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    mirror=$(debian_root_mirror)
    key=$(printf '%s\n' "$suite" "$mirror" "$@" | sha256sum | cut -c1-16)
    dir=$DEBIAN_ROOT_CACHE/root-$key
    mkdir -p "$DEBIAN_ROOT_CACHE"
    lock=$DEBIAN_ROOT_CACHE/lock
    exec {rc}>"$lock"
    flock -w 900 "$rc" || { echo "debian_root: lock $lock busy for 15 min" >&2; return 1; }
    if [ ! -f "$dir/.complete" ]; then
        find "$DEBIAN_ROOT_CACHE" -maxdepth 1 -name 'root-*' ! -name "root-$key" -exec rm -rf {} + 2>/dev/null
        rm -rf "$dir"
        log=$DEBIAN_ROOT_CACHE/root-$key.log
        echo "debian_root: making $dir ($suite from $mirror; log $log)" >&2
        if ! debootstrap --variant=minbase --include=systemd,systemd-sysv "$suite" "$dir/root" \
            "$mirror" >"$log" 2>&1; then
            tail -n 5 "$log" >&2
            echo "debian_root: debootstrap failed (network or mirror?)" >&2
            rm -rf "$dir"
            flock -u "$rc"
            return 1
        fi
        # apt's lists, and the packages the scenario will install, downloaded now.
        cp /etc/resolv.conf "$dir/root/etc/resolv.conf" 2>/dev/null
        if ! chroot "$dir/root" apt-get update >>"$log" 2>&1 ||
            ! chroot "$dir/root" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
                --no-install-recommends --download-only "$@" >>"$log" 2>&1; then
            tail -n 5 "$log" >&2
            echo "debian_root: apt-get in the new root failed" >&2
            rm -rf "$dir"
            flock -u "$rc"
            return 1
        fi
        : >"$dir/root/etc/resolv.conf"
        touch "$dir/.complete"
    fi
    flock -u "$rc"
    echo "$dir/root"
}
