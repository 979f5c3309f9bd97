#!/usr/bin/env python3
"""Checks dataset_difference.py on hand-made datasets: what it accepts as rounding or as a
selection mode's flipped near-tie, and what it refuses (a flip in a continuous mode, too many
moved elements, changed labels, a spec with no match), each with its exit status.

  dataset_difference_test.py SCRIPT
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

FEATURES = 4000  # elements of the features tensor: SELECTION_FLIPS (1e-3) allows 4


def write_dataset(path, mode, features, labels, model="graph-toy"):
    spec = {"model": model, "mode": mode, "graphs": 2, "nodes": 3}
    feature_bytes = struct.pack(f"<{len(features)}f", *features)
    label_bytes = struct.pack(f"<{len(labels)}q", *labels)
    header = {
        "__metadata__": {"spec": json.dumps(spec)},
        "features": {"dtype": "F32", "shape": [len(features)],
                     "data_offsets": [0, len(feature_bytes)]},
        "labels": {"dtype": "I64", "shape": [len(labels)],
                   "data_offsets": [len(feature_bytes), len(feature_bytes) + len(label_bytes)]},
    }
    text = json.dumps(header).encode()
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + feature_bytes + label_bytes)


def run(script, got, want):
    result = subprocess.run([sys.executable, script, got, want], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def case(script, name, mode, change, labels=(0, 1, 1, 0), want_mode=None):
    """Builds WANT (mode `want_mode`, default `mode`, its model named by another path) and a GOT
    changed by `change` (a list of (index, delta)); returns the run's exit status and output."""
    base = [((i * 37) % 101) / 101.0 for i in range(FEATURES)]
    changed = list(base)
    for index, delta in change:
        changed[index] += delta
    with tempfile.TemporaryDirectory() as root:
        got, want = os.path.join(root, "got"), os.path.join(root, "want")
        os.mkdir(got)
        os.mkdir(want)
        write_dataset(os.path.join(want, "a.safetensors"), want_mode or mode, base, [0, 1, 1, 0],
                      model="elsewhere/graph-toy")
        write_dataset(os.path.join(got, "a.safetensors"), mode, changed, list(labels))
        code, output = run(script, got, want)
    print(f"{name}: exit {code}: {output.strip().splitlines()[-1] if output.strip() else ''}")
    return code, output


def main():
    script = sys.argv[1]
    failures = []

    def expect(condition, what):
        if not condition:
            failures.append(what)

    flips = [(10, 1.5e-3), (11, -1.5e-3), (900, 2e-3), (901, -2e-3)]
    code, out = case(script, "equal", "raw", [])
    expect(code == 0 and "within 0 " in out,
           "equal datasets pass with difference 0 (the model's path left out of the match)")
    code, out = case(script, "rounding", "raw", [(5, 3e-6)])
    expect(code == 0 and "within 3e-06" in out, "rounding passes and is reported")
    code, out = case(script, "raw flip", "raw", flips[:1])
    expect(code == 1 and "features differs by 0.0015" in out and "allows 0" in out,
           "a continuous mode refuses any element beyond rounding")
    code, out = case(script, "top-k flips", "topk:3+drop-sink", flips)
    expect(code == 0 and "4 of 4000 elements" in out and "near-tie" in out,
           "a top-k dataset passes a few flipped near-ties, reported")
    code, out = case(script, "argmax flips", "argmax", flips[:2])
    expect(code == 0 and "2 of 4000 elements" in out, "argmax is a selection mode too")
    code, out = case(script, "top-k many", "topk:3", flips + [(2000, 0.01)])
    expect(code == 1 and "in 5 of 4000 elements" in out and "allows 4" in out,
           "a top-k dataset refuses more moved elements than flips explain")
    code, out = case(script, "labels", "topk:3", [], labels=(0, 1, 0, 0))
    expect(code == 1 and "labels differs" in out, "integer tensors must be equal")
    code, out = case(script, "other spec", "topk:3", [], want_mode="raw")
    expect(code == 1 and "no dataset of this spec" in out, "a dataset of another spec has no match")

    for failure in failures:
        print(f"FAILED: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
