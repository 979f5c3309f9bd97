#!/usr/bin/env python3
"""The tables of docs/RESULTS.md from a `graphprobe run` directory, as markdown.

- headline: per model and graph size, the real-task configuration with the best mean
  validation F1 (test F1 reported once, never used to choose), the same configuration on the
  control task and the positional baseline of its graph setting beside it; then the same
  selection within each notation (the layout, and so the positional baseline, differs);
- every configuration: test F1 [95% t-interval over seeds] (selectivity) per probe;
- heads: each model's layers x heads grid of mean validation AUC of the per-head probe, over
  all its settings and then per notation (results.json's per-cell head rankings).

    python3 scripts/results_tables.py graphprobe-run
"""
import collections
import csv
import json
import os
import statistics
import sys

PROBES = ("pair-mlp", "gcn", "logreg-head", "logreg-layer")


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def ci(row):
    return f"{float(row['test_f1']):.3f} [{float(row['test_f1_low']):.3f}, {float(row['test_f1_high']):.3f}]"


def setting(row):
    return (row["model"], row["graph_size"], row["generator"], row["notation"], row["names"],
            row["permutations"], row["graphs"])


def main(run):
    summary = read(os.path.join(run, "summary.csv"))
    real = [r for r in summary if r["control"] == ""]
    control = {(setting(r), r["feature_mode"], r["probe"]): r
               for r in summary if r["control"] == "control-task"}
    positional = {setting(r): r for r in summary if r["control"] == "positional"}

    headline(real, control, positional, lambda r: (r["model"], int(r["graph_size"])))
    print()
    headline(real, control, positional,
             lambda r: (r["model"], r["notation"], int(r["graph_size"])), by_notation=True)

    print("\n| model | n | notation | mode | " + " | ".join(PROBES) + " | positional |")
    print("|---|---|---|---|" + "---|" * (len(PROBES) + 1))
    rows = collections.OrderedDict()
    for r in real:
        rows.setdefault((r["model"], int(r["graph_size"]), r["notation"], r["feature_mode"]), {})[
            r["probe"]] = r
    shown_positional = set()
    for (model, size, notation, mode), probes in rows.items():
        cells = []
        for probe in PROBES:
            r = probes.get(probe)
            if r is None:
                cells.append("")
                continue
            selectivity = r.get("selectivity_f1", "")
            cells.append(ci(r) + (f" ({float(selectivity):+.3f})" if selectivity else ""))
        key = (model, size, notation)
        p = next((v for k, v in positional.items() if k[0] == model and k[1] == str(size)
                  and k[3] == notation), None)
        cells.append(ci(p) if p and key not in shown_positional else "")
        shown_positional.add(key)
        print(f"| {model} | {size} | {notation} | {mode} | " + " | ".join(cells) + " |")

    for name in sorted(os.listdir(run)):
        if not (name.startswith("heads-") and name.endswith(".csv")):
            continue
        heads = read(os.path.join(run, name))
        grid = {(int(h["layer"]), int(h["head"])): float(h["mean_val_auc"]) for h in heads
                if int(h["head"]) >= 0}
        print_grid(f"{name[6:-4]}, all settings", grid)

    # The same per notation: which head finds parents can depend on how the graph is written.
    with open(os.path.join(run, "results.json")) as f:
        cells = json.load(f)["cells"]
    aucs = collections.defaultdict(list)
    for c in cells:
        if c["probe"] != "logreg-head" or c["control"] != "":
            continue
        for h in c["head_ranking"]:
            aucs[(c["model"], c["notation"], h["layer"], h["head"])].append(h["val_auc"])
    for model, notation in sorted({(k[0], k[1]) for k in aucs}):
        grid = {(k[2], k[3]): statistics.fmean(v) for k, v in aucs.items()
                if k[0] == model and k[1] == notation}
        print_grid(f"{model}, {notation} notation", grid)


def headline(real, control, positional, group, by_notation=False):
    """The configuration with the best mean validation F1 in each group, with its controls."""
    first = "| model | notation | graph size | selected (probe, mode)" if by_notation else \
        "| model | graph size | selected (probe, notation, mode)"
    print(first + " | val F1 | test F1 [95% CI] | control task, same config | positional baseline |")
    print("|---|---|---|---|---|---|---|" + ("---|" if by_notation else ""))
    best = {}
    for r in real:
        key = group(r)
        if key not in best or float(r["val_f1"]) > float(best[key]["val_f1"]):
            best[key] = r
    for key, r in sorted(best.items()):
        c = control.get((setting(r), r["feature_mode"], r["probe"]))
        p = next((v for k, v in positional.items() if k[0] == r["model"]
                  and k[1] == r["graph_size"] and k[3] == r["notation"]), None)
        lead = (f"| {r['model']} | {r['notation']} | {r['graph_size']} | {r['probe']}, "
                f"{r['feature_mode']}") if by_notation else (
            f"| {r['model']} | {r['graph_size']} | {r['probe']}, {r['notation']}, "
            f"{r['feature_mode']}")
        print(f"{lead} | {float(r['val_f1']):.3f} | **{ci(r)}** | {ci(c) if c else '-'} | "
              f"{ci(p) if p else '-'} |")


def print_grid(title, grid):
    if not grid:
        return
    layers = max(l for l, _ in grid) + 1
    per_layer = max(h for _, h in grid) + 1
    top = max(grid.values())
    print(f"\n{title}:\n")
    print("| layer | " + " | ".join(f"head {h}" for h in range(per_layer)) + " |")
    print("|---|" + "---|" * per_layer)
    for l in range(layers):
        values = [grid.get((l, h)) for h in range(per_layer)]
        print(f"| {l} | " + " | ".join(
            "" if v is None else (f"**{v:.3f}**" if v == top else f"{v:.3f}") for v in values)
            + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
