#!/usr/bin/env python3
"""The numbers of a rendered report against results.csv: every configuration row of the table
that headless Chromium rendered (check_report.sh dumps the DOM) shows the test F1 that
results.csv gives as the mean over its seeds, and there is a row for every configuration.

    check_report_numbers.py DOM_HTML RESULTS_CSV
"""
import csv
import re
import statistics
import sys

dom = open(sys.argv[1]).read()
# The rendered table, row by row: the configuration columns and the test F1 shown.
config = ["model", "graph_size", "notation", "permutations", "feature_mode", "probe", "control"]
body = dom.split('<table id="results-table">', 1)[1].split("</table>", 1)[0]
rendered = {}
for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
    triples = re.findall(r'data-col="([a-z_0-9]+)" data-value="([^"]*)">([^<]*)<', row)
    values = {column: value for column, value, _ in triples}
    shown = {column: text for column, _, text in triples}
    key = tuple(values[c] for c in config)
    rendered[key] = float(shown["test_f1"].split(" ")[0])

# The same means recomputed from results.csv (one row per seed).
groups = {}
for r in csv.DictReader(open(sys.argv[2])):
    key = tuple(r[c] for c in config)
    groups.setdefault(key, []).append(float(r["test_f1"]))
assert len(rendered) == len(groups), f"{len(rendered)} rows rendered, results.csv has {len(groups)} configurations"
for key, f1s in groups.items():
    assert key in rendered, f"configuration {key} not in the rendered table"
    mean = statistics.mean(f1s)
    assert abs(rendered[key] - mean) <= 0.0006, f"{key}: rendered {rendered[key]}, results.csv mean {mean:.4f}"
print(f"report: {len(rendered)} rendered rows match results.csv")
