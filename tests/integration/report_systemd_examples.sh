#!/usr/bin/env bash
# report_systemd_examples.sh: the example units for the daily HTML report
# (systemd/hsm-audit-forwarder-report.{service,timer}) pass `systemd-analyze verify` without a
# single message (a misspelt key is a message, proven on a broken copy first), the timer fires
# daily and is persistent, and the service's command line is one `report` run per format whose
# options the binary accepts (the same command run here on an empty input must succeed).
# Skips (77) where systemd-analyze is missing.
set -euo pipefail
: "${HAF_BIN:?}" "${HAF_SOURCE_DIR:?}"
command -v systemd-analyze >/dev/null ||
    { echo "report_systemd_examples: SKIPPED: systemd-analyze not installed"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "report_systemd_examples: $*"; exit 1; }
svc="$HAF_SOURCE_DIR/systemd/hsm-audit-forwarder-report.service"
tmr="$HAF_SOURCE_DIR/systemd/hsm-audit-forwarder-report.timer"

sed 's/^OnCalendar=/OnCalenda=/' "$tmr" >"$work/broken.timer"
out=$(systemd-analyze verify --man=no "$work/broken.timer" 2>&1 || true)
[ -n "$out" ] || fail "a misspelt key gives no message: the check cannot fail"
cp "$svc" "$tmr" "$work/"
out=$(cd "$work" && systemd-analyze verify --man=no hsm-audit-forwarder-report.service \
    hsm-audit-forwarder-report.timer 2>&1) || fail "verify failed: $out"
[ -z "$out" ] || fail "verify says: $out"
grep -q '^OnCalendar=\*-\*-\* 00:30:00 UTC$' "$tmr" || fail "the timer is not daily at 00:30 UTC"
grep -q '^Persistent=true$' "$tmr" || fail "the timer is not persistent"
[ "$(systemd-analyze calendar '*-*-* 00:30:00 UTC' >/dev/null 2>&1; echo $?)" = 0 ] ||
    fail "systemd does not understand the timer's OnCalendar"
# The report options the service uses, on an empty input file.
: >"$work/empty.log"
day=$(date -u -d yesterday +%F) today=$(date -u +%F)
for f in html json; do
    "$HAF_BIN" report --since "$day" --until "$today" --format "$f" \
        --output "$work/report-$day.$f" "$work/empty.log" || fail "the service's options fail ($f)"
    [ -s "$work/report-$day.$f" ] || fail "no $f report written"
done
grep -q -- '--log-group "\$LOG_GROUP" --since "\$day" --until "\$today" --format "\$f"' "$svc" ||
    fail "the service's command line is not the one checked here"
echo "report_systemd_examples: ok"
