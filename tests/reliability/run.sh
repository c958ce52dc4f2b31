#!/usr/bin/env bash
# run.sh: the reliability suite. Runs every tests/integration/reliability_*.sh scenario one after
# the other against the daemon in $HAF_BIN (default: build/hsm-audit-forwarder), each bounded in
# time, then prints the summary table (scenario, entries written, delivered, duplicates, lost).
#
#   tests/reliability/run.sh [--write-results] [SCENARIO...]    # e.g. kill9 faults
#
# --write-results also writes the table to tests/reliability/RESULTS.md. Exit 0 only when every
# scenario passed (or was skipped with 77). The whole suite takes about 6 minutes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
write=0
[ "${1:-}" = --write-results ] && { write=1; shift; }
export HAF_SOURCE_DIR=$top HAF_TEST_DATA=$top/tests/data
export HAF_BIN=${HAF_BIN:-$top/build/hsm-audit-forwarder}
[ -x "$HAF_BIN" ] || { echo "run.sh: no daemon binary at $HAF_BIN (build first, or set HAF_BIN)" >&2; exit 2; }
export HAF_RELIABILITY_RESULTS=$(mktemp)
trap 'rm -f "$HAF_RELIABILITY_RESULTS"' EXIT
if [ $# -gt 0 ]; then
    scenarios=()
    for s in "$@"; do scenarios+=("$top/tests/integration/reliability_${s#reliability_}.sh"); done
else
    scenarios=("$top"/tests/integration/reliability_*.sh)
fi
failed=0
for s in "${scenarios[@]}"; do
    name=$(basename "$s" .sh)
    start=$SECONDS
    timeout 600 bash "$s" >"$HAF_RELIABILITY_RESULTS.$name.log" 2>&1
    rc=$?
    case $rc in
        0) echo "$name: PASS ($((SECONDS - start)) s)" ;;
        77) echo "$name: SKIP" ;;
        *) failed=1
           echo "$name: FAIL (exit $rc, $((SECONDS - start)) s); last lines:"
           grep -v '^20[0-9][0-9]-' "$HAF_RELIABILITY_RESULTS.$name.log" | tail -n 15
           grep -q "^${name#reliability_}	" "$HAF_RELIABILITY_RESULTS" ||
               printf '%s\t-\t-\t-\t-\tFAIL\t%s\texit %s\n' "${name#reliability_}" \
                   "$((SECONDS - start))" "$rc" >>"$HAF_RELIABILITY_RESULTS" ;;
    esac
    rm -f "$HAF_RELIABILITY_RESULTS.$name.log"
done
echo
"$here/summary.sh" "$HAF_RELIABILITY_RESULTS" | tee "$HAF_RELIABILITY_RESULTS.md"
if [ "$write" = 1 ]; then
    {
        echo "# Reliability suite: latest figures"
        echo
        echo "Produced by \`tests/reliability/run.sh --write-results\` on $(date -u +%Y-%m-%d) with"
        echo "\`$(basename "$HAF_BIN")\` ($("$HAF_BIN" --version 2>/dev/null | head -n 1)). Entries are counted by"
        echo "(reboot_counter, sequence_no) through the CloudWatch Logs API (boto3 GetLogEvents against"
        echo "the checking front) and the front's record of every accepted event; both must agree."
        echo
        cat "$HAF_RELIABILITY_RESULTS.md"
        [ -f "$here/NOTES.md" ] && { echo; cat "$here/NOTES.md"; }
    } >"$here/RESULTS.md"
    echo "wrote $here/RESULTS.md"
fi
rm -f "$HAF_RELIABILITY_RESULTS.md"
exit $failed
