#!/usr/bin/env bash
# report_files.sh: `report` over generated audit files with known counts
# (tests/tools/report_corpus.py: three HSMs, a day of activity, gaps, a burst of failed logins,
# failed key operations, hostile user names). Checks: the JSON report has every known count
# (report_check.py expected); the raw text (`parse --format raw`) and our JSON (`parse --format
# json`) of the same entries give the same report; --since/--until and --hsm select what they
# say; hostile names are counted under their own (sanitized) names; text and HTML carry the
# sections; --output is written atomically; a missing file still gives a report of the rest with
# exit 1; usage errors exit 2; the get-log-events JSON and the gzip S3 export of the same entries
# give the same report too; a plain-http endpoint off loopback is refused (exit 2).
set -euo pipefail
: "${HAF_BIN:?}" "${HAF_SOURCE_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tools="$HAF_SOURCE_DIR/tests/tools"
fail() { echo "report_files: $*"; exit 1; }

python3 "$tools/report_corpus.py" --dir "$work/in" --hostile
"$HAF_BIN" report --format json "$work"/in/*.log >"$work/files.json"
python3 "$tools/report_check.py" expected "$work/in/expected.json" "$work/files.json" ||
    fail "the report of the generated files does not have the known counts"

# The same entries as raw text and as our JSON events, in files named for the same HSMs. (Without
# the hostile names: invalid UTF-8 flags an entry when the audit file is parsed, and the raw text
# `parse` prints has it replaced already, so that one count would differ by design.)
python3 "$tools/report_corpus.py" --dir "$work/clean" --seed 7
"$HAF_BIN" report --format json "$work"/clean/*.log >"$work/clean.json"
python3 "$tools/report_check.py" expected "$work/clean/expected.json" "$work/clean.json" ||
    fail "the report of the clean files does not have the known counts"
mkdir -p "$work/raw" "$work/json"
for f in "$work"/clean/*.log; do
    b=$(basename "$f" .log)
    "$HAF_BIN" parse --format raw "$f" >"$work/raw/$b.txt"
    "$HAF_BIN" parse --format json "$f" >"$work/json/$b.json"
done
"$HAF_BIN" report --format json "$work"/raw/*.txt >"$work/raw.json"
"$HAF_BIN" report --format json "$work"/json/*.json >"$work/ndjson.json"
python3 "$tools/report_check.py" same "$work/clean.json" "$work/raw.json" ||
    fail "raw text and audit files give different reports"
python3 "$tools/report_check.py" same "$work/raw.json" "$work/ndjson.json" ||
    fail "raw text and our JSON of the same entries give different reports"

# The same entries as CloudWatch exports: `aws logs get-log-events` JSON and a gzip S3 export
# (<task>/<stream>/000000.gz, "<ISO time> <message>" lines), read through the export reader.
python3 - "$work/clean" "$work/cwl" "$work/s3/task-1" <<'PY'
import datetime, gzip, json, os, sys
src, cwl, s3 = sys.argv[1:4]
for name in sorted(os.listdir(src)):
    if not name.endswith(".log"):
        continue
    hsm = name[:-4]
    text = open(os.path.join(src, name), encoding="utf-8").read()
    entries = [e.strip("\n") for e in text.split("\n\n") if e.strip()]
    events = []
    for e in entries:
        usecs = int(e.split("usecs:", 1)[1].split("\n", 1)[0])
        events.append({"timestamp": usecs // 1000, "message": e, "ingestionTime": usecs // 1000 + 5})
    os.makedirs(cwl, exist_ok=True)
    with open(os.path.join(cwl, hsm + ".json"), "w") as f:
        json.dump({"events": events, "nextForwardToken": "f/1", "nextBackwardToken": "b/1"}, f)
    os.makedirs(os.path.join(s3, hsm), exist_ok=True)
    with gzip.open(os.path.join(s3, hsm, "000000.gz"), "wt", encoding="utf-8") as f:
        for ev in events:
            t = datetime.datetime.fromtimestamp(ev["timestamp"] / 1000, datetime.timezone.utc)
            f.write(t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ " % (ev["timestamp"] % 1000)
                    + ev["message"] + "\n")
PY
"$HAF_BIN" report --format json "$work"/cwl/*.json >"$work/cwl.json"
python3 "$tools/report_check.py" same "$work/clean.json" "$work/cwl.json" ||
    fail "get-log-events JSON of the same entries gives another report"
"$HAF_BIN" report --format json "$work"/s3/task-1/*/000000.gz >"$work/s3.json"
python3 "$tools/report_check.py" same "$work/clean.json" "$work/s3.json" ||
    fail "the gzip S3 export of the same entries gives another report"

# Period and HSM selection.
hsm=$(jq -r '.hsms[0].hsm' "$work/in/expected.json")
want=$(jq -r '.hsms[0].entries' "$work/in/expected.json")
"$HAF_BIN" report --format json --hsm "$hsm" "$work"/in/*.log >"$work/one.json"
[ "$(jq -r '.entries' "$work/one.json")" = "$want" ] || fail "--hsm $hsm: not $want entries"
[ "$(jq -r '.hsms | length' "$work/one.json")" = 1 ] || fail "--hsm: other HSMs listed"
"$HAF_BIN" report --format json --since 2025-12-06T09:00:00Z --until 2025-12-06T17:00Z \
    "$work"/in/*.log >"$work/day.json"
in_window=$(jq '[.timeline.buckets[] | select(.start >= "2025-12-06T09" and .start < "2025-12-06T17") | .entries] | add' "$work/files.json")
[ "$(jq -r '.entries' "$work/day.json")" = "$in_window" ] ||
    fail "--since/--until: $(jq -r .entries "$work/day.json") entries, the hours hold $in_window"
outside=$(( $(jq -r .entries "$work/files.json") - in_window ))
[ "$(jq -r '.outside_window' "$work/day.json")" = "$outside" ] || fail "outside_window wrong"

# Text and HTML carry the sections; --output replaces the file whole.
"$HAF_BIN" report "$work"/in/*.log >"$work/r.txt"
for s in "== Completeness ==" "== Logins ==" "== User management ==" "== Key lifecycle ==" \
    "== Critical operations ==" "== HSM errors" "== Commands by opcode ==" "== Activity per hour =="; do
    grep -qF -- "$s" "$work/r.txt" || fail "text report lacks '$s'"
done
grep -qF 'BURST: 6 failed logins' "$work/r.txt" || fail "text report lacks the burst"
echo old >"$work/r.html"
"$HAF_BIN" report --format html --output "$work/r.html" "$work"/in/*.log
head -c 15 "$work/r.html" | grep -q '<!DOCTYPE html>' || fail "--output: not the HTML page"
ls "$work" | grep -q '\.tmp\.' && fail "--output left a temporary file"
[ "$(stat -c %a "$work/r.html")" = 640 ] || fail "--output: mode $(stat -c %a "$work/r.html"), want 640"

# A missing input: the others are still reported, exit 1.
rc=0
"$HAF_BIN" report --format json "$work/in/nope.log" "$work"/in/*.log >"$work/partial.json" \
    2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "missing file: exit $rc, want 1"
grep -q "nope.log" "$work/err" || fail "missing file not named on stderr"
[ "$(jq -r .entries "$work/partial.json")" = "$(jq -r .entries "$work/files.json")" ] ||
    fail "missing file: the other files were not reported"

# Usage errors.
for args in "--format pdf x" "--since yesterday x" "--since 2d --until 3d x" "" \
    "--log-group g x" "--log-stream-prefix p x" "--page-size 0 --log-group g"; do
    rc=0
    # shellcheck disable=SC2086
    "$HAF_BIN" report $args >/dev/null 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "'report $args': exit $rc, want 2"
done
# An endpoint that would carry the credentials in clear is refused before any request.
rc=0
AWS_REGION=us-east-1 AWS_ENDPOINT_URL_LOGS=http://logs.example.com "$HAF_BIN" report \
    --log-group g >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 2 ] || fail "plain-http endpoint off loopback: exit $rc, want 2"
grep -q "loopback" "$work/err" || { cat "$work/err"; fail "the refusal does not say why"; }
echo "report_files: ok ($(jq -r .entries "$work/files.json") entries; raw, JSON and files agree)"
