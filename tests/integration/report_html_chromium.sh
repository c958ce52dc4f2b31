#!/usr/bin/env bash
# report_html_chromium.sh: the HTML report opened in a real browser (Debian's chromium, headless).
# The page is made from generated files with hostile user names (<script>, quotes, a right-to-left
# override, invalid UTF-8). Checks, each first proven able to fail on a control page that has a
# script, a console error and an external image:
# - no network request: chromium's proxy is a listener that counts connections (loopback
#   included), and it must see none while our page loads (the control page makes one);
# - no console message (the control page logs one; a CSP violation would log one too);
# - the DOM (--dump-dom) has the section headings, four SVG charts with titles and bars, table
#   headers, and no element made from a user name (no <script>, <b> or <img> in it);
# - the screenshot is not blank (tests/tools/png_stats.py: a share of non-white pixels and many
#   colours), at desktop and at phone width.
# chromium is installed by scripts/install-deps.sh; where it is missing this test is skipped
# (exit 77) saying so.
set -euo pipefail
: "${HAF_BIN:?}" "${HAF_SOURCE_DIR:?}"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "report_html_chromium: SKIPPED: chromium is not installed (scripts/install-deps.sh installs it)"
    exit 77
fi
work=$(mktemp -d)
listener=
cleanup() {
    if [ -n "$listener" ]; then
        kill "$listener" 2>/dev/null || true
        wait "$listener" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
tools="$HAF_SOURCE_DIR/tests/tools"
fail() { echo "report_html_chromium: $*"; exit 1; }

# Chromium's own services (updates, accounts, time) are contacted whatever the page: logged, not
# counted. Anything else, loopback included, is a request the page made.
python3 "$tools/count_connections.py" --port-file "$work/port" --max-seconds 600 \
    --log "$work/requests.log" --ignore-host 'accounts\.google\.com' \
    --ignore-host 'update\.googleapis\.com' --ignore-host 'clients[0-9]*\.google\.com' \
    --ignore-host '[a-z-]*-pa\.googleapis\.com' --ignore-host 'redirector\.gvt1\.com' >/dev/null &
listener=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
count() { curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$port/_count"; }

# run_chromium OUT-PREFIX URL WIDTH HEIGHT: screenshot, DOM dump and console log of one page.
run_chromium() {
    local out=$1 url=$2 w=$3 h=$4
    local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
        --no-default-browser-check --disable-background-networking --disable-component-update
        --disable-sync --disable-domain-reliability --disable-breakpad --metrics-recording-only
        --disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication
        --proxy-server="http://127.0.0.1:$port" --proxy-bypass-list='<-loopback>'
        --user-data-dir="$work/profile" --enable-logging=stderr --v=0
        --virtual-time-budget=3000 --window-size="$w,$h")
    timeout 120 "$browser" "${flags[@]}" --screenshot="$out.png" "$url" >/dev/null 2>"$out.log" || true
    timeout 120 "$browser" "${flags[@]}" --dump-dom "$url" >"$out.dom" 2>>"$out.log" || true
}

# The control page: it must trip every check.
cat >"$work/control.html" <<'HTML'
<!DOCTYPE html><html><body><h1>control</h1>
<img src="http://192.0.2.10/pixel.png" alt="">
<script>console.error("control-console-message")</script></body></html>
HTML
run_chromium "$work/control" "file://$work/control.html" 800 600
[ "$(count)" -gt 0 ] || fail "the control page's external image was not seen by the listener: the network check cannot fail"
grep -q 'control-console-message' "$work/control.log" ||
    fail "the control page's console message was not captured: the console check cannot fail"
grep -q '<script>' "$work/control.dom" || fail "the DOM dump did not show the control's script"

# Our page.
python3 "$tools/report_corpus.py" --dir "$work/in" --hostile
"$HAF_BIN" report --format html --output "$work/report.html" "$work"/in/*.log
grep -Eq '(src|href)=' "$work/report.html" && fail "the page references a resource (src= or href=)"
before=$(count)
run_chromium "$work/desk" "file://$work/report.html" 1200 2400
run_chromium "$work/phone" "file://$work/report.html" 390 2400
after=$(count)
if [ "$after" != "$before" ]; then
    cat "$work/requests.log"
    fail "the page made $((after - before)) network request(s)"
fi
if grep -E 'CONSOLE|Refused to|Content Security Policy' "$work/desk.log" "$work/phone.log"; then
    fail "console messages while showing the page"
fi
for h in "Summary" "Completeness" "Activity over time" "Logins" "User management" \
    "Key lifecycle" "Critical operations" "HSM errors" "Commands by opcode"; do
    grep -q "<h2 id=\"[^\"]*\">$h</h2>" "$work/desk.dom" || fail "heading '$h' missing from the DOM"
done
svgs=$(grep -o '<svg role="img"' "$work/desk.dom" | wc -l)
[ "$svgs" -eq 4 ] || fail "$svgs charts in the DOM, want 4"
[ "$(grep -o '<title id="c-[a-z]*-t">' "$work/desk.dom" | wc -l)" -eq 4 ] || fail "chart titles missing"
bars=$(grep -o '<rect class="bar"' "$work/desk.dom" | wc -l)
[ "$bars" -ge 40 ] || fail "only $bars chart bars in the DOM"
grep -q '<th scope="col"' "$work/desk.dom" || fail "no table headers"
grep -qi '<script' "$work/desk.dom" && fail "a <script> element exists in the DOM"
grep -qi '<img' "$work/desk.dom" && fail "an <img> element exists in the DOM"
grep -q '<b>' "$work/desk.dom" && fail "a <b> element made from a user name exists in the DOM"
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$work/desk.dom" || fail "the <script> user name is not shown as text"
grep -qF 'evil\u202Eresu.exe' "$work/desk.dom" || fail "the RTL override is not shown as an escape"
grep -qF 'bad\uFFFD\uFFFDutf8' "$work/desk.dom" || fail "invalid UTF-8 is not shown as escapes"
for shot in desk phone; do
    [ -s "$work/$shot.png" ] || fail "no $shot screenshot"
    stats=$(python3 "$tools/png_stats.py" "$work/$shot.png")
    python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["non_white"] > 0.05 and s["colors"] > 50 else 1)' "$stats" ||
        fail "$shot screenshot looks blank: $stats"
done
echo "report_html_chromium: ok ($svgs charts, $bars bars, no requests, no console messages; $(python3 "$tools/png_stats.py" "$work/desk.png"))"
