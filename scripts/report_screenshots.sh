#!/usr/bin/env bash
# Screenshots (PNG) of a results directory's report.html in headless Chromium, for docs: the top
# of the page (table, effects), the head heatmaps, the chosen cell (training curve, test graphs) and one prompt's
# attention (the page shows only the section its URL names with #only-SECTION).
#   scripts/report_screenshots.sh RESULTS_DIR OUT_PREFIX  # writes OUT_PREFIX-{top,heads,cell,attention}.png
set -euo pipefail
results=$1
prefix=$2
[ -s "$results/report.html" ] || { echo "no $results/report.html (graphprobe report $results)"; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for section in top heads cell attention; do
  anchor=$([ "$section" = top ] && echo "" || echo "#only-$section")
  chromium --headless --no-sandbox --disable-gpu --disable-extensions --no-first-run \
    --user-data-dir="$profile" --virtual-time-budget=20000 --hide-scrollbars \
    --window-size=1400,1100 --screenshot="$prefix-$section.png" \
    "file://$(realpath "$results")/report.html$anchor" >/dev/null 2>&1
  [ -s "$prefix-$section.png" ] || { echo "no screenshot of $section"; exit 1; }
  echo "wrote $prefix-$section.png"
done
