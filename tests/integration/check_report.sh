#!/usr/bin/env bash
# The HTML report of a real run, opened in headless Chromium: `graphprobe run` wrote it,
# `graphprobe report` writes it again; it renders with no console message (no error, no
# warning), every section is there with its charts (effects, heads, a cell's training curve,
# its test graphs drawn, one prompt's attention) and a screenshot is taken. The rendered DOM
# stays in SCRATCH_DIR/dom.html for check_report_numbers.py (the table's numbers).
#   check_report.sh GRAPHPROBE_BINARY RESULTS_DIR SCRATCH_DIR
set -euo pipefail
graphprobe=$1
results=$2
dir=$3
dom=$dir/dom.html  # also read by check_report_numbers.py (the ctest graphprobe_report_numbers)
rm -rf "$dir"
mkdir -p "$dir"
command -v chromium >/dev/null 2>&1 || { echo "chromium is not installed (scripts/setup.sh installs it)"; exit 1; }

[ -s "$results/report.html" ] || { echo "graphprobe run wrote no report.html in $results"; exit 1; }
"$graphprobe" report "$results" --out "$dir/report.html" >"$dir/report.log" 2>&1 || { cat "$dir/report.log"; exit 1; }
grep -q "wrote $dir/report.html" "$dir/report.log" || { cat "$dir/report.log"; exit 1; }
if grep -Eq '(src|href)="https?:' "$dir/report.html"; then
  echo "the report loads something from the network"; exit 1
fi

# A bad results directory is an error naming the file, not a half-written report.
if "$graphprobe" report "$dir/none" --out "$dir/bad.html" >"$dir/bad.log" 2>&1; then
  echo "a missing results directory was accepted"; exit 1
fi
grep -q "$dir/none" "$dir/bad.log" || { cat "$dir/bad.log"; exit 1; }
[ ! -e "$dir/bad.html" ] || { echo "a report was written for a missing directory"; exit 1; }

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-extensions --no-first-run
        --user-data-dir="$dir/profile" --virtual-time-budget=20000 --window-size=1400,2400)
"${chrome[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$dir/report.html" \
  >"$dom" 2>"$dir/chromium.log" || { tail -20 "$dir/chromium.log"; exit 1; }
if grep -q "CONSOLE" "$dir/chromium.log"; then
  echo "console messages while rendering the report:"; grep "CONSOLE" "$dir/chromium.log"; exit 1
fi
"${chrome[@]}" --screenshot="$dir/report.png" "file://$dir/report.html" >/dev/null 2>&1
[ -s "$dir/report.png" ] || { echo "no screenshot"; exit 1; }

python3 - "$dom" "$results" <<'PY'
import glob, json, os, re, sys
dom = open(sys.argv[1]).read()
for section in ("summary", "results", "effects", "heads", "cell", "attention"):
    assert f'<section id="{section}">' in dom, f"section {section} missing"
# Vega-Lite charts: three effect plots, a head heatmap per model and one per model and notation
# of its per-head probe cells, the chosen cell's training curve.
charts = dom.count('class="marks"')
heads = len(glob.glob(os.path.join(sys.argv[2], "heads-*.csv")))
cells = json.load(open(os.path.join(sys.argv[2], "results.json")))["cells"]
by_notation = len({(c["model"], c["notation"]) for c in cells
                   if c["probe"] == "logreg-head" and c["control"] == ""})
expected = 3 + heads + by_notation + 1
assert charts == expected, f"{charts} charts rendered, expected {expected}"
# The chosen cell's test graphs, each as a matrix and a drawing; one prompt's attention map.
matrices, drawings = dom.count('class="adjacency-matrix"'), dom.count('class="graph-drawing"')
assert matrices == drawings == 2, f"{matrices} matrices and {drawings} drawings, expected 2 each"
assert dom.count('class="attention-map"') == 1, "no attention map"
tokens = re.search(r'id="attention-text">([^<]*)<', dom).group(1)
assert "edges: " in tokens and "L" in tokens, f"attention caption: {tokens}"

print(f"report: every section, {charts} charts rendered")
PY
echo "report OK ($dir/report.png)"
