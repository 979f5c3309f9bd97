#!/usr/bin/env python3
"""Paired effects of an ablation's results.csv, as docs/RESULTS.md reports them.

For each comparison (trained model minus its random-init twin, 7 minus 10 nodes, one feature
mode minus another, one notation minus another), the cells are matched on every other setting; per
seed the mean difference over the matched pairs is taken, then a 95% t-interval over the
seeds. Only real probe cells count (no controls, no positional baseline). Last, each trained
model's gradient probes on raw attention minus the positional baseline of the same graphs
(per graph size and notation, paired by seed).

    python3 scripts/results_effects.py graphprobe-run/results.csv
"""
import collections
import csv
import math
import statistics
import sys

# Two-sided 95% t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
SETTINGS = ("model", "graph_size", "notation", "feature_mode", "permutations", "probe")


def interval(values):
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def paired(cells, field, a, b, where):
    """Mean over seeds of F1(field=a) - F1(field=b), matched on the other settings."""
    by_key = {}
    for c in cells:
        if where(c):
            by_key[tuple(c[s] for s in SETTINGS) + (c["seed"],)] = float(c["test_f1"])
    index = SETTINGS.index(field)
    per_seed = collections.defaultdict(list)
    for key, f1 in by_key.items():
        if key[index] != a:
            continue
        other = key[:index] + (b,) + key[index + 1:]
        if other in by_key:
            per_seed[key[-1]].append(f1 - by_key[other])
    if not per_seed:
        return None
    return interval([statistics.fmean(v) for v in per_seed.values()]), sum(map(len, per_seed.values()))


def line(label, result):
    if result is None:
        return f"- {label}: no matched cells"
    (mean, low, high), pairs = result
    resolved = "" if low > 0 or high < 0 else " (not resolved)"
    return f"- {label}: **{mean:+.3f}** [{low:.3f}, {high:.3f}]{resolved} ({pairs} matched pairs)"


def main(path):
    cells = [c for c in csv.DictReader(open(path)) if c["control"] == ""]
    models = sorted({c["model"] for c in cells})
    trained = [m for m in models if not m.endswith("-random")]
    print("Trained model minus its random-init twin, per probe:")
    for model in trained:
        for probe in sorted({c["probe"] for c in cells}):
            print(line(f"{model} {probe}",
                       paired(cells, "model", model, model + "-random",
                              lambda c, p=probe: c["probe"] == p)))
    sizes = sorted({int(c["graph_size"]) for c in cells})
    modes = sorted({c["feature_mode"] for c in cells})
    notations = sorted({c["notation"] for c in cells})
    for model in trained:
        for family, probes in (("gradient probes (pair-mlp, gcn)", {"pair-mlp", "gcn"}),
                               ("logistic probes (logreg-head, logreg-layer)",
                                {"logreg-head", "logreg-layer"})):
            where = lambda c, m=model, ps=probes: c["model"] == m and c["probe"] in ps
            print(f"\n{model}, {family}:")
            if len(sizes) >= 2:
                print(line(f"{sizes[0]}-node minus {sizes[-1]}-node",
                           paired(cells, "graph_size", str(sizes[0]), str(sizes[-1]), where)))
            for i, a in enumerate(modes):
                for b in modes[i + 1:]:
                    print(line(f"{a} minus {b}", paired(cells, "feature_mode", a, b, where)))
            for i, a in enumerate(notations):
                for b in notations[i + 1:]:
                    print(line(f"{a} minus {b}", paired(cells, "notation", a, b, where)))
    positional = {(c["model"], c["graph_size"], c["notation"], c["seed"]): float(c["test_f1"])
                  for c in csv.DictReader(open(path)) if c["control"] == "positional"}
    for model in trained:
        print(f"\n{model}, raw attention minus the positional baseline (same graphs):")
        for size in sizes:
            for notation in sorted({c["notation"] for c in cells}):
                for probe in ("gcn", "pair-mlp"):
                    per_seed = [float(c["test_f1"]) - positional[key]
                                for c in cells
                                for key in [(model, c["graph_size"], notation, c["seed"])]
                                if c["model"] == model and c["graph_size"] == str(size)
                                and c["notation"] == notation and c["probe"] == probe
                                and c["feature_mode"] == "raw" and key in positional]
                    result = (interval(per_seed), len(per_seed)) if per_seed else None
                    print(line(f"{size} nodes, {notation}, {probe}", result))


if __name__ == "__main__":
    main(sys.argv[1])
