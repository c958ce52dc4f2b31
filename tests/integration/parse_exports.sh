#!/usr/bin/env bash
# parse_exports.sh: `hsm-audit-forwarder parse` on what users export from CloudWatch Logs, each
# detected automatically. The documentation's audit entries and certificate-storage events are put
# into moto_server (IAM auth on) in an HSM stream and a cluster-named stream with the real AWS CLI,
# read back with `aws logs get-log-events` and `aws logs filter-log-events`, and also written as
# the gzip files of an S3 export (<task>/<stream>/000000.gz, "<ISO time> <message>" lines, two
# gzip members in one file). Every one of them must parse to exactly the entries the plain audit
# file gives (compared without host/source/hsm_id/export_time), with hsm_id taken from the stream
# where the input names it and export_time from the S3 prefix; --input audit on the CLI JSON must
# give flagged entries (the override is honoured) and --input s3-export on a plain file must
# still parse it. Bounded: about 20 s.
set -euo pipefail
: "${HAF_SOURCE_DIR:?}" "${HAF_BIN:?}"
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 77; }

source "$HAF_SOURCE_DIR/tests/tools/moto.sh"
work=$(mktemp -d)
moto_start_or_exit parse_exports "$work"

fail=0
data=$HAF_SOURCE_DIR/tests/data/audit
G=/aws/cloudhsm/cluster-exports1234
H=hsm-abc123defgh
C=cluster-exports1234

# The plain inputs: the documentation's text entries, and the certificate events.
cp "$data/all_s1.log" "$work/hsm.log"
{ cat "$data/cert_destroy_pretty.log"; grep -E '^\{"object_handle": (1844|null)' "$data/cert_mixed.log"; } >"$work/cert.log"

# Normalised entries: without the members that name where the input came from.
norm() { jq -c 'del(.host, .source, .hsm_id, .export_time)' "$@"; }
"$HAF_BIN" parse "$work/hsm.log" | norm >"$work/want_hsm.ndjson"
"$HAF_BIN" parse "$work/cert.log" | norm >"$work/want_cert.ndjson"
n_hsm=$(wc -l <"$work/want_hsm.ndjson")
n_cert=$(wc -l <"$work/want_cert.ndjson")
[ "$n_hsm" -ge 20 ] && [ "$n_cert" -eq 3 ] || { echo "parse_exports: bad baseline $n_hsm/$n_cert"; exit 1; }
if grep -q parse_error "$work/want_hsm.ndjson" "$work/want_cert.ndjson"; then
    echo "parse_exports: baseline entries are flagged"; exit 1
fi

# One CloudWatch event per entry, as CloudHSM delivers them (raw text, no trailing newline).
to_events() {
    "$HAF_BIN" parse --format raw "$1" | python3 -c '
import json, sys, time
raw = sys.stdin.read().split("\n\n")
now = int(time.time() * 1000) - 60000
print(json.dumps([{"timestamp": now + i, "message": m} for i, m in enumerate(x for x in raw if x)]))'
}
to_events "$work/hsm.log" >"$work/hsm_events.json"
to_events "$work/cert.log" >"$work/cert_events.json"
moto_aws logs create-log-group --log-group-name "$G"
for s in "$H" "$C"; do
    moto_aws logs create-log-stream --log-group-name "$G" --log-stream-name "$s"
done
moto_aws logs put-log-events --log-group-name "$G" --log-stream-name "$H" \
    --log-events "file://$work/hsm_events.json" >/dev/null
moto_aws logs put-log-events --log-group-name "$G" --log-stream-name "$C" \
    --log-events "file://$work/cert_events.json" >/dev/null

moto_aws logs get-log-events --log-group-name "$G" --log-stream-name "$H" --start-from-head \
    --output json >"$work/gle.json"
AWS_ACCESS_KEY_ID=$HAF_ADMIN_KEY_ID AWS_SECRET_ACCESS_KEY=$HAF_ADMIN_SECRET \
    moto_aws logs filter-log-events --log-group-name "$G" --output json >"$work/fle.json"

check() { # check NAME GOT WANT
    if ! diff -q "$2" "$3" >/dev/null; then
        echo "parse_exports: $1 differs from the plain file's entries:"
        diff "$2" "$3" | head -n 10
        fail=1
    else
        echo "ok: $1 ($(wc -l <"$2") entries)"
    fi
}

# get-log-events: the HSM stream's entries, no stream name in the JSON, so no hsm_id.
"$HAF_BIN" parse "$work/gle.json" >"$work/gle.ndjson"
norm "$work/gle.ndjson" >"$work/got.ndjson"
check "get-log-events JSON" "$work/got.ndjson" "$work/want_hsm.ndjson"
[ "$(jq -r 'has("hsm_id")' "$work/gle.ndjson" | sort -u)" = false ] ||
    { echo "parse_exports: get-log-events gave an hsm_id"; fail=1; }

# filter-log-events: both streams, each event's logStreamName; hsm_id only for the HSM stream.
"$HAF_BIN" parse "$work/fle.json" >"$work/fle.ndjson"
jq -c 'select(.kind != "certificate_storage")' "$work/fle.ndjson" | norm >"$work/got.ndjson"
check "filter-log-events JSON (HSM stream)" "$work/got.ndjson" "$work/want_hsm.ndjson"
jq -c 'select(.kind == "certificate_storage")' "$work/fle.ndjson" | norm >"$work/got.ndjson"
check "filter-log-events JSON (cluster stream)" "$work/got.ndjson" "$work/want_cert.ndjson"
[ "$(jq -r 'select(.kind != "certificate_storage") | .hsm_id' "$work/fle.ndjson" | sort -u)" = "$H" ] ||
    { echo "parse_exports: filter-log-events entries lack hsm_id $H"; fail=1; }
[ "$(jq -r 'select(.kind == "certificate_storage") | has("hsm_id")' "$work/fle.ndjson" | sort -u)" = false ] ||
    { echo "parse_exports: certificate events got an hsm_id"; fail=1; }

# The S3 export: per stream, "<ISO time> <message>" lines, gzip; the HSM file in two members.
jq -r '.events[] | "\(.timestamp / 1000 | strftime("%Y-%m-%dT%H:%M:%S")).\(.timestamp % 1000 | tostring | ("00" + .)[-3:])Z \(.message)"' \
    "$work/gle.json" >"$work/s3_hsm.txt"
mkdir -p "$work/export/task-1/$H" "$work/export/task-1/$C"
half=$(($(grep -c '^20..-..-..T' "$work/s3_hsm.txt") / 2))
first_of_second=$(grep -n '^20..-..-..T' "$work/s3_hsm.txt" | sed -n "$((half + 1))p" | cut -d: -f1)
{ head -n "$((first_of_second - 1))" "$work/s3_hsm.txt" | gzip -c
  tail -n "+$first_of_second" "$work/s3_hsm.txt" | gzip -c; } >"$work/export/task-1/$H/000000.gz"
jq -r '.events[] | select(.logStreamName == "'"$C"'") | "2024-09-04T20:41:23.671Z \(.message)"' \
    "$work/fle.json" | gzip -c >"$work/export/task-1/$C/000000.gz"
"$HAF_BIN" parse "$work/export/task-1/$H/000000.gz" >"$work/s3.ndjson"
norm "$work/s3.ndjson" >"$work/got.ndjson"
check "S3 export gzip (HSM stream, two members)" "$work/got.ndjson" "$work/want_hsm.ndjson"
[ "$(jq -r '.hsm_id' "$work/s3.ndjson" | sort -u)" = "$H" ] ||
    { echo "parse_exports: S3 entries lack hsm_id from the directory name"; fail=1; }
[ "$(jq -r 'has("export_time")' "$work/s3.ndjson" | sort -u)" = true ] ||
    { echo "parse_exports: S3 entries lack export_time"; fail=1; }
"$HAF_BIN" parse "$work/export/task-1/$C/000000.gz" | norm >"$work/got.ndjson"
check "S3 export gzip (cluster stream)" "$work/got.ndjson" "$work/want_cert.ndjson"

# Overrides: --input audit reads the CLI JSON as audit text (one flagged event), and
# --input s3-export on a plain audit file still gives its entries.
"$HAF_BIN" parse --input audit "$work/gle.json" >"$work/forced.ndjson"
[ "$(wc -l <"$work/forced.ndjson")" -ge 1 ] && grep -q '"parse_error"' "$work/forced.ndjson" ||
    { echo "parse_exports: --input audit was not honoured"; fail=1; }
"$HAF_BIN" parse --input s3-export "$work/hsm.log" | norm >"$work/got.ndjson"
check "--input s3-export on a plain file" "$work/got.ndjson" "$work/want_hsm.ndjson"

# A truncated gzip: the entries before the cut are printed, the error is reported, exit 1.
head -c 300 "$work/export/task-1/$H/000000.gz" >"$work/cut.gz"
set +e
"$HAF_BIN" parse "$work/cut.gz" >"$work/cut.ndjson" 2>"$work/cut.err"
rc=$?
set -e
if [ "$rc" -ne 1 ] || ! grep -q 'truncated gzip data' "$work/cut.err"; then
    echo "parse_exports: truncated gzip: rc=$rc, stderr: $(cat "$work/cut.err")"; fail=1
fi
exit "$fail"
