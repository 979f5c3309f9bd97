#!/usr/bin/env bash
# Checks the output of `graphprobe run --spec tests/data/quick-spec.json`: every result file is
# there and complete, every real cell has its selectivity over the control task and a test
# interval around its F1, the label-shuffle cells sit near chance, and the trained toy model's
# attention predicts the graph better than its random-init twin's (best test F1 and AUC of the
# real probes).
set -euo pipefail
out=$1
for f in spec.json results.jsonl results.csv summary.csv results.json heads-graph-toy.csv heads-graph-toy-random.csv; do
  [ -s "$out/$f" ] || { echo "missing or empty: $out/$f"; exit 1; }
done
cells=$(($(wc -l <"$out/results.csv") - 1))
logged=$(wc -l <"$out/results.jsonl")
[ "$cells" -gt 0 ] && [ "$cells" -eq "$logged" ] || { echo "results.csv has $cells rows, results.jsonl $logged"; exit 1; }
# Columns by name, so the check follows the header.
awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
         {
           control = $col["control"]; f1 = $col["test_f1"]; auc = $col["test_auc"]
           if (!(($col["test_f1_low"] <= f1) && (f1 <= $col["test_f1_high"]))) {
             print "test F1 outside its interval: " $0; bad = 1
           }
           if (control == "") {
             if ($col["selectivity_f1"] == "") { print "no selectivity: " $0; bad = 1 }
             if (f1 > best[$1]) best[$1] = f1
             if (auc > best_auc[$1]) best_auc[$1] = auc
           }
           if (control == "label-shuffle" && (auc < 0.3 || auc > 0.7)) {
             print "label shuffle far from chance: " $0; bad = 1
           }
         }
         END {
           if (bad) exit 1
           printf "best test F1: toy %.3f (AUC %.3f), random-init %.3f (AUC %.3f)\n",
                  best["graph-toy"], best_auc["graph-toy"], best["graph-toy-random"], best_auc["graph-toy-random"]
           # The margin leaves room for thread-count rounding differences, not for a model that
           # learned nothing.
           if (!(best["graph-toy"] > best["graph-toy-random"] + 0.02 && best_auc["graph-toy"] > best_auc["graph-toy-random"] + 0.02)) {
             print "the toy model does not beat its random-init control"; exit 1
           }
         }' "$out/results.csv"
# summary.csv: one row per configuration over its two seeds.
rows=$(($(wc -l <"$out/summary.csv") - 1))
[ "$rows" -eq $((cells / 2)) ] || { echo "summary.csv has $rows rows for $cells cells of 2 seeds"; exit 1; }
awk -F, 'NR > 1 && $11 != 2 { print "a configuration without 2 seeds: " $0; exit 1 }' "$out/summary.csv"
