#!/usr/bin/env bash
# summary.sh RESULTS: prints the reliability summary table (Markdown) from the result lines the
# scenarios append to $HAF_RELIABILITY_RESULTS (tab-separated: scenario, entries written,
# delivered, duplicates, lost, result, seconds, note). The newest line of each scenario wins.
# Exits 1 when a scenario failed or the file is missing.
set -uo pipefail
file=${1:?usage: summary.sh RESULTS}
[ -s "$file" ] || { echo "summary.sh: no results in $file" >&2; exit 1; }
awk -F '\t' '
    { last[$1] = $0; if (!($1 in seen)) { order[n++] = $1; seen[$1] = 1 } }
    END {
        print "| scenario | entries written | delivered | duplicates | lost | result | seconds | notes |"
        print "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"
        bad = 0
        for (i = 0; i < n; i++) {
            split(last[order[i]], f, "\t")
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
            if (f[6] == "FAIL") bad = 1
        }
        exit bad
    }' "$file"
