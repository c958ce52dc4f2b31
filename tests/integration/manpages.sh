#!/usr/bin/env bash
# manpages: checks man/hsm-audit-forwarder.8 and man/hsm-audit-forwarder.yaml.5. Both must render
# with `groff -man -Tutf8 -ww -z` (and `man --warnings -l` when man-db is there) without a single
# warning; the SYNOPSIS of the (8) page must equal the usage lines of `$HAF_BIN --help`; every
# long and short option of --help must be documented in the (8) page; every configuration key of
# DESIGN.md must be in conf/hsm-audit-forwarder.yaml and documented in the (5) page (and the example
# configuration may hold no other key); every environment variable DESIGN.md says is honoured must
# be in the (8) page. Skips (77) when groff is not installed.
set -euo pipefail

src=${HAF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
page8=$src/man/hsm-audit-forwarder.8
page5=$src/man/hsm-audit-forwarder.yaml.5
conf=$src/conf/hsm-audit-forwarder.yaml

command -v groff >/dev/null || { echo "groff not installed: skipped"; exit 77; }
[ -x "${HAF_BIN:-}" ] || { echo "HAF_BIN is not an executable: ${HAF_BIN:-unset}"; exit 1; }

fail=0
bad() { echo "FAIL: $*"; fail=1; }

# 1. Rendering without warnings.
for page in "$page8" "$page5"; do
    [ -f "$page" ] || { bad "missing $page"; continue; }
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || true
    if [ -n "$warnings" ]; then bad "groff warnings in $(basename "$page"):"; echo "$warnings"
    else echo "ok: groff -ww renders $(basename "$page") silently"; fi
    if command -v man >/dev/null; then
        # Only the formatter's own complaints count: man-db may also print notes about its caches
        # and locks, which say nothing about the page.
        warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null | grep -E 'warning|error|troff:') ||
            true
        if [ -n "$warnings" ]; then bad "man --warnings on $(basename "$page"):"; echo "$warnings"
        else echo "ok: man --warnings renders $(basename "$page") silently"; fi
    fi
done
[ "$fail" -eq 0 ] || exit 1

# Rendered text, plain ASCII hyphens, no formatting, one paragraph per line where possible.
render() { groff -man -Tutf8 -rLL=250n -P-cbou "$1" 2>/dev/null | sed 's/‐/-/g; s/−/-/g'; }
text8=$(render "$page8")
help=$("$HAF_BIN" --help)

# 2. SYNOPSIS == the usage lines of --help.
want=$(echo "$help" | sed -n '/^usage:/,/^$/p' | sed -E 's/^usage: +//; s/^ +//' | sed '/^$/d')
got=$(echo "$text8" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | sed -E 's/^ +//' | sed '/^$/d')
if [ "$want" = "$got" ]; then echo "ok: SYNOPSIS matches --help"
else bad "SYNOPSIS differs from --help"; diff <(echo "$want") <(echo "$got") || true; fi

# 3. Every option of --help is documented in the (8) page.
for opt in $(echo "$help" | grep -oE '(^|[ ,])-(-[a-z][a-z-]*|[a-zA-Z])\b' | sed -E 's/^[ ,]//' | sort -u); do
    if grep -qE -- "(^|[[ ,])$opt([] ,.]|$)" <<<"$text8"; then :
    else bad "option $opt of --help is not in $(basename "$page8")"; fi
done
echo "checked options: $(echo "$help" | grep -oE '(^|[ ,])-(-[a-z][a-z-]*|[a-zA-Z])\b' | sed -E 's/^[ ,]//' | sort -u | tr '\n' ' ')"

# 4. Configuration keys (DESIGN.md "Config file", fixed names; batch.memory_budget_bytes added by
# issue 14).
keys="region endpoint credentials profile role_arn external_id session_name sts_endpoint tls
ca_file verify proxy state_dir create_log_group retention_days kms_key_id batch max_events
max_bytes flush_interval_ms memory_budget_bytes out_of_range sources path log_group log_stream format start_position
hsm_id follow_symlinks
deletion_protection log_group_class log_group_tags
digest enabled interval_s signing_algorithm key_file
health namespace"
# (the settings of created log groups, added after DESIGN.md by issue 15; digest: and health: by
# issue 12)
# Keys of the example, commented-out ones included ("#region: ...", "#  profile: default"); prose
# comments have exactly one space after the '#'.
conf_keys=$(grep -oE '^ *(#( {2,})?)?(- )?[a-z_]+:( |$)' "$conf" | sed -E 's/^ *#? *(- )?//; s/:.*//' | sort -u)
for k in $keys; do
    grep -qx "$k" <<<"$conf_keys" || bad "key $k is not in $(basename "$conf")"
    grep -qE "^\.B $k\$" "$page5" || bad "key $k is not documented (.B $k) in $(basename "$page5")"
done
for k in $conf_keys; do
    echo "$keys" | tr ' ' '\n' | grep -qx "$k" || bad "$(basename "$conf") has a key DESIGN.md does not: $k"
done
echo "checked $(echo $keys | wc -w) configuration keys"

# 5. Environment variables DESIGN.md says are honoured.
for v in AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_LOGS AWS_ENDPOINT_URL_STS \
    AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_EC2_METADATA_DISABLED HTTPS_PROXY NO_PROXY AWS_PROFILE \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN NOTIFY_SOCKET WATCHDOG_USEC; do
    grep -qw "$v" <<<"$text8" || bad "environment variable $v is not in $(basename "$page8")"
done

# 6. Signals and exit codes the daemon implements are documented.
for s in SIGHUP SIGTERM SIGUSR1; do
    grep -qw "$s" <<<"$text8" || bad "signal $s is not in $(basename "$page8")"
done
echo "$text8" | sed -n '/^EXIT STATUS/,/^EXAMPLES/p' | grep -qE '^ +2( |$)' || bad "exit status 2 not documented"

[ "$fail" -eq 0 ] && echo "manpages: passed" || echo "manpages: FAILED"
exit "$fail"
