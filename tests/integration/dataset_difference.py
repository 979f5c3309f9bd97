#!/usr/bin/env python3
"""Compares two folders of graphprobe datasets (safetensors) built from the same spec.

Each dataset in GOT is matched to the one in WANT with the same spec, the model's path left
out (the two builds may name the model by different paths). Tensors must have the same names,
dtypes and shapes; integer tensors (labels, adjacency) must be equal; float tensors may differ
by float rounding only: different batch compositions pad to different shapes, and on AVX-512
machines the kernels then sum in another order.

Selection modes (top-k, argmax) are not continuous: where rounding reorders two keys of
nearly equal weight, the other key is kept, and the pooled features of the pairs that read that
row move by the tied weight (CI saw 1.5e-3 on an AVX-512 machine). There a few elements may
differ by more than rounding (at most SELECTION_FLIPS of them); every other element must still
be within rounding, so another dataset or a mixed-up batch still fails.

Prints and writes (to OUT, when given) the largest float difference; exits 1 naming the file
and tensor when anything else differs.

  dataset_difference.py GOT_DIR WANT_DIR [OUT]
"""
import glob
import json
import os
import struct
import sys

ROUNDING = 1e-5  # far above float rounding of attention features, far below any real change
# The share of a selection-mode tensor's elements that a flipped near-tie may move: one flip
# moves the few pairs that pool the flipped row, so a dataset of thousands of rows sees a
# handful, while a real change (another graph, another batch's rows) moves most elements.
SELECTION_FLIPS = 1e-3


def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    spec = json.loads(header.pop("__metadata__")["spec"])
    spec.pop("model")
    return header, spec, data[8 + n:]


def selects(spec):
    """Whether the dataset's feature mode keeps some keys and drops others (top-k, argmax)."""
    return spec["mode"].split("+")[0].startswith(("topk", "argmax"))


def float_difference(path, name, spec, got, want):
    """The largest difference of two float32 tensors' values, allowing a selection mode's
    flipped near-ties; exits naming the tensor when they differ by more."""
    x = struct.unpack(f"<{len(got) // 4}f", got)
    y = struct.unpack(f"<{len(want) // 4}f", want)
    differences = [abs(p - q) for p, q in zip(x, y)]
    worst = max(differences, default=0.0)
    if worst <= ROUNDING:
        return worst
    beyond = sum(d > ROUNDING for d in differences)
    allowed = int(SELECTION_FLIPS * len(differences)) if selects(spec) else 0
    if beyond > allowed:
        sys.exit(f"{path}: {name} differs by {worst} (more than rounding, {ROUNDING}) in {beyond} "
                 f"of {len(differences)} elements; mode {spec['mode']} allows {allowed}")
    print(f"{path}: {name}: {beyond} of {len(differences)} elements differ by up to {worst:.2g}: "
          f"a {spec['mode']} selection flipped at a near-tie")
    return worst


def largest_difference(got_dir, want_dir):
    want = {}
    for path in glob.glob(os.path.join(want_dir, "*.safetensors")):
        header, spec, body = read(path)
        want[json.dumps(spec, sort_keys=True)] = (header, body)
    got = sorted(glob.glob(os.path.join(got_dir, "*.safetensors")))
    if not got:
        sys.exit(f"no datasets in {got_dir}")
    worst = 0.0
    for path in got:
        header, spec, body = read(path)
        key = json.dumps(spec, sort_keys=True)
        if key not in want:
            sys.exit(f"{path}: no dataset of this spec in {want_dir}: {key}; there: "
                     + "; ".join(sorted(want)))
        want_header, want_body = want[key]
        if header.keys() != want_header.keys():
            sys.exit(f"{path}: tensors {sorted(header)}, expected {sorted(want_header)}")
        for name, info in header.items():
            expected = want_header[name]
            if (info["dtype"], info["shape"]) != (expected["dtype"], expected["shape"]):
                sys.exit(f"{path}: {name} is {info['dtype']}{info['shape']}, "
                         f"expected {expected['dtype']}{expected['shape']}")
            a = body[info["data_offsets"][0]:info["data_offsets"][1]]
            b = want_body[expected["data_offsets"][0]:expected["data_offsets"][1]]
            if info["dtype"] != "F32":
                if a != b:
                    sys.exit(f"{path}: {name} differs")
                continue
            worst = max(worst, float_difference(path, name, spec, a, b))
    return len(got), worst


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    count, worst = largest_difference(sys.argv[1], sys.argv[2])
    print(f"{count} datasets: tensors within {worst:.2g} of the ones in {sys.argv[2]}")
    if len(sys.argv) == 4:
        open(sys.argv[3], "w").write(repr(worst))


if __name__ == "__main__":
    main()
