#!/usr/bin/env bash
# The headline claim of docs/RESULTS.md on the shipped toy model, at a small scale: in the
# labels notation, where the token layout says nothing about the edges, a probe reads the graph
# from the trained model's attention (test F1 >= 0.9) while the positional baseline, the control
# task and the random-init twin stay far below (<= 0.7).
#   check_labels_probe.sh GRAPHPROBE SPEC OUT_DIR
set -euo pipefail
graphprobe=$1
spec=$2
out=$3
rm -rf "$out"
"$graphprobe" run --spec "$spec" --out "$out" --direct >"$out.log" 2>&1 ||
  { tail -20 "$out.log"; echo "graphprobe run failed"; exit 1; }
awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) col[$i] = i; next }
         {
           key = $col["model"] "/" ($col["control"] == "" ? "attention" : $col["control"])
           f1[key] = $col["test_f1"]; ++rows
         }
         END {
           if (rows != 6) { print "expected 6 cells (2 models x probe, control task, positional), got " rows; exit 1 }
           for (k in f1) printf "%s: test F1 %.3f\n", k, f1[k]
           if (!(f1["graph-toy/attention"] >= 0.9)) { print "the trained model'"'"'s attention does not carry the labels edges"; exit 1 }
           split("graph-toy/control-task graph-toy/positional graph-toy-random/attention graph-toy-random/control-task graph-toy-random/positional", low, " ")
           for (i in low) {
             if (!(low[i] in f1) || !(f1[low[i]] <= 0.7)) { print low[i] " is not far below: " f1[low[i]]; exit 1 }
           }
         }' "$out/results.csv"
