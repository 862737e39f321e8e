#!/bin/bash
# TAP: the HTML report opens in a real browser.  Builds a database with known
# measurements (a JSON export written here, two machines, two ops; no timing), writes
# `ktune report --html`, and renders it in headless Chromium:
#   1. the report is written, self-contained (no scripts, no external references);
#   2. loading it logs nothing to the console (checked against a page that does, so a
#      broken check cannot pass);
#   3. in the rendered DOM every op's plot has all its series, each drawn with a
#      non-empty path and its markers, the chosen-variant band and the limit line;
#   4. a screenshot is a real picture (KT_REPORT_SHOT=FILE keeps it, for the docs).
# Skips (TAP "1..0 # SKIP") when no Chromium is installed: apt-get install chromium.
set -u
: "${top_builddir:?}"
browser=""
for b in chromium chromium-browser google-chrome; do
    command -v "$b" >/dev/null 2>&1 && browser=$(command -v "$b") && break
done
if [ -z "$browser" ]; then
    echo "1..0 # SKIP no Chromium here (Debian: apt-get install chromium)"
    exit 0
fi
echo "1..4"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "not ok $1 - $2"
    [ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/# /' "$3" | tail -40
    exit 1
}
ktune="$top_builddir/ktune"

# Chromium, headless, as root in a container: no sandbox, no GPU, no network chatter.
chrome() {
    timeout 90 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-extensions --mute-audio --hide-scrollbars \
        --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
        --virtual-time-budget=10000 "$@"
}

# ---- the database: synthetic curves t(n) = latency + bytes(n) / bandwidth ----------
variants="scalar avx2 avx512 threads:t=2"
awk -v variants="$variants" '
function t(v, op, n) {
    bytes = (op == "axpy_f32" ? 12 : 16) * n
    if (v == "scalar") return 3e-9 + bytes / 12e9
    if (v == "avx2") return 6e-9 + bytes / 60e9
    if (v == "avx512") return 9e-9 + bytes / (n < 4e6 ? 90e9 : 40e9)
    return 4e-6 + bytes / 70e9
}
BEGIN {
    nv = split(variants, V, " ")
    printf "{\"format\": \"ktune-export\", \"format_version\": 1, \"variants\": ["
    sep = ""
    split("axpy_f32 add_scalar_f64", OPS, " ")
    for (o = 1; o <= 2; o++) for (i = 1; i <= nv; i++) {
        b = V[i]; sub(/:.*/, "", b)
        printf "%s{\"op\": \"%s\", \"name\": \"%s\", \"version\": 1, \"backend\": \"%s\"}", sep, OPS[o], V[i], b
        sep = ", "
    }
    printf "], \"machines\": ["
    for (m = 1; m <= 2; m++) {
        printf "%s{\"fingerprint\": \"test-report-machine-%d\", \"details\": {\"cpu\": {\"brand\": \"Test\", \"cores\": 2}}, ", (m > 1 ? ", " : ""), m
        printf "\"first_seen\": \"2025-01-01T00:00:00Z\", \"last_seen\": \"2025-01-01T00:00:00Z\", "
        printf "\"runs\": [{\"id\": 1, \"started\": \"2025-01-01T00:00:00Z\", \"ended\": \"2025-01-01T00:01:00Z\", \"status\": \"complete\", \"ktune_version\": \"0.1.0\", \"host\": \"h\", \"pid\": 1}], "
        printf "\"limits\": [{\"name\": \"mem_bw_gbs\", \"value\": %d, \"measured_at\": \"2025-01-01T00:01:00Z\"}], ", 40 + m
        ms = ""; ch = ""
        for (o = 1; o <= 2; o++) for (n = 1; n <= 2^26; n *= 4) {
            # rank the variants at this size (selection sort on time)
            for (i = 1; i <= nv; i++) { R[i] = V[i]; T[i] = t(V[i], OPS[o], n) * (1 + 0.1 * (m - 1)) }
            for (i = 1; i <= nv; i++) for (j = i + 1; j <= nv; j++) if (T[j] < T[i]) {
                x = T[i]; T[i] = T[j]; T[j] = x; y = R[i]; R[i] = R[j]; R[j] = y }
            for (i = 1; i <= nv; i++) {
                ms = ms sprintf("%s{\"op\": \"%s\", \"m\": 0, \"n\": %d, \"k\": 0, \"variant\": \"%s\", \"version\": 1, \"run\": 1, \"samples\": 5, \"median_s\": %.6g, \"spread\": 0.01, \"valid\": true, \"measured_at\": \"2025-01-01T00:00:30Z\"}", (ms == "" ? "" : ", "), OPS[o], n, R[i], T[i])
                ch = ch sprintf("%s{\"op\": \"%s\", \"m\": 0, \"n\": %d, \"k\": 0, \"rank\": %d, \"variant\": \"%s\", \"version\": 1, \"median_s\": %.6g, \"margin\": %.6g, \"run\": 1}", (ch == "" ? "" : ", "), OPS[o], n, i, R[i], T[i], (i == 1 ? T[2] / T[1] - 1 : T[i] / T[1] - 1))
            }
        }
        printf "\"measurements\": [%s], \"choices\": [%s]}", ms, ch
    }
    print "]}"
}' > "$tmp/t.json"
"$ktune" import "$tmp/t.json" --db "$tmp/t.db" >"$tmp/log" 2>&1 || fail 1 "import the test data" "$tmp/log"

# ---- 1. the report ------------------------------------------------------------------
"$ktune" report --db "$tmp/t.db" --machine all --html "$tmp/report.html" >"$tmp/log" 2>&1 ||
    fail 1 "ktune report --html writes the report" "$tmp/log"
if grep -qiE '<script|<link|src=|href="?https?:|@import|url\(http' "$tmp/report.html"; then
    fail 1 "the report is self-contained (no scripts, no external references)"
fi
nplots=$(grep -o 'class="kt-plot"' "$tmp/report.html" | wc -l)
nseries=$(grep -o 'class="kt-series"' "$tmp/report.html" | wc -l)
[ "$nplots" -eq 4 ] && [ "$nseries" -eq 16 ] ||
    fail 1 "the report has 4 plots with 16 series (has $nplots, $nseries)"
echo "ok 1 - the report is written and self-contained: $nplots plots, $nseries series"

# ---- 2. no console messages -----------------------------------------------------------
# The check must be able to fail: a page that logs an error is caught.
printf '<!DOCTYPE html><html><body><script>console.error("kt-canary")</script></body></html>\n' \
    >"$tmp/canary.html"
chrome --dump-dom "file://$tmp/canary.html" >"$tmp/canary.dom" 2>"$tmp/canary.err"
grep -q 'CONSOLE.*kt-canary' "$tmp/canary.err" ||
    fail 2 "the console check sees a console error (canary page)" "$tmp/canary.err"
chrome --dump-dom "file://$tmp/report.html" >"$tmp/report.dom" 2>"$tmp/report.err" ||
    fail 2 "Chromium loads the report" "$tmp/report.err"
if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|net::ERR' "$tmp/report.err" >"$tmp/console"; then
    fail 2 "the report loads without console errors" "$tmp/console"
fi
grep -q '</html>' "$tmp/report.dom" || fail 2 "the DOM of the loaded report is dumped" "$tmp/report.dom"
echo "ok 2 - Chromium loads the report with no console messages (a canary error is seen)"

# ---- 3. the rendered plots -----------------------------------------------------------
# A copy of the report with a checker appended: after layout, every plot's series must
# have geometry (a path of non-zero length, visible markers), every plot a band and a
# limit line.  The verdict goes into the DOM, which --dump-dom prints.
cat >"$tmp/check.js" <<'EOF'
addEventListener("load", function () {
  var out = [], bad = [];
  document.querySelectorAll("section.kt-op").forEach(function (sec) {
    var op = sec.getAttribute("data-op"), svg = sec.querySelector("svg.kt-plot");
    if (!svg) { bad.push(op + ": no plot"); return; }
    var series = svg.querySelectorAll("g.kt-series"), drawn = 0;
    series.forEach(function (g) {
      var p = g.querySelector("path"), c = g.querySelectorAll("circle");
      var n = +g.getAttribute("data-points");
      if (p && p.getTotalLength() > 0 && c.length === n && n > 0 && g.getBBox().width > 0)
        drawn++;
      else
        bad.push(op + "/" + g.getAttribute("data-name") + ": not drawn");
    });
    var band = svg.querySelector("g.kt-band path"), lim = svg.querySelector("g.kt-limit line");
    if (!band || band.getTotalLength() <= 0) bad.push(op + ": no band");
    if (!lim || lim.getBBox().width <= 0) bad.push(op + ": no limit line");
    out.push(op + ":" + drawn + "/" + series.length);
  });
  var pre = document.createElement("pre");
  pre.id = "kt-check";
  pre.textContent = "KTCHECK " + (bad.length ? "BAD " + bad.join("; ") : "OK " + out.join(" "));
  document.body.appendChild(pre);
});
EOF
awk -v js="$tmp/check.js" \
    '/<\/body>/ { print "<script>"; while ((getline l < js) > 0) print l; print "</script>" } { print }' \
    "$tmp/report.html" >"$tmp/checked.html"
chrome --dump-dom "file://$tmp/checked.html" >"$tmp/checked.dom" 2>"$tmp/checked.err"
verdict=$(grep -o '<pre id="kt-check">KTCHECK [^<]*' "$tmp/checked.dom" | sed 's/^<pre[^>]*>//')
case "$verdict" in
"KTCHECK OK "*)
    # 4 plots (2 machines x 2 ops), each with all 4 series drawn
    [ "$(echo "$verdict" | grep -o ':4/4' | wc -l)" -eq 4 ] ||
        fail 3 "every op's plot has its 4 series drawn ($verdict)"
    ;;
*) fail 3 "every op's plot has its series drawn (${verdict:-no verdict})" "$tmp/checked.err" ;;
esac
echo "ok 3 - every plot has all its series drawn, its band and its limit line: ${verdict#KTCHECK OK }"

# ---- 4. a screenshot -------------------------------------------------------------------
chrome --screenshot="$tmp/shot.png" --window-size=1000,1500 "file://$tmp/report.html" \
    >"$tmp/shot.log" 2>&1
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
sig=$(head -c 8 "$tmp/shot.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] && [ "$size" -gt 30000 ] ||
    fail 4 "a screenshot of the report is a real picture ($size bytes)" "$tmp/shot.log"
[ -n "${KT_REPORT_SHOT:-}" ] && cp "$tmp/shot.png" "$KT_REPORT_SHOT"
echo "ok 4 - a screenshot of the report is a PNG of $size bytes"
