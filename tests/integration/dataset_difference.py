#!/usr/bin/env python3
"""Compares two folders of graphprobe datasets (safetensors) built from the same spec.

Each dataset in GOT is matched to the one in WANT with the same spec, the model's path left
out (the two builds may name the model by different paths). Tensors must have the same names,
dtypes and shapes; integer tensors (labels, adjacency) must be equal; float tensors may differ
by float rounding only: different batch compositions pad to different shapes, and on AVX-512
machines the kernels then sum in another order. Prints and writes (to OUT, when given) the
largest float difference; exits 1 naming the file and tensor when anything else differs.

  dataset_difference.py GOT_DIR WANT_DIR [OUT]
"""
import glob
import json
import os
import struct
import sys

ROUNDING = 1e-5  # far above float rounding of attention features, far below any real change


def read(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    spec = json.loads(header.pop("__metadata__")["spec"])
    spec.pop("model")
    return header, json.dumps(spec, sort_keys=True), data[8 + n:]


def largest_difference(got_dir, want_dir):
    want = {}
    for path in glob.glob(os.path.join(want_dir, "*.safetensors")):
        header, spec, body = read(path)
        want[spec] = (header, body)
    got = sorted(glob.glob(os.path.join(got_dir, "*.safetensors")))
    if not got:
        sys.exit(f"no datasets in {got_dir}")
    worst = 0.0
    for path in got:
        header, spec, body = read(path)
        if spec not in want:
            sys.exit(f"{path}: no dataset of this spec in {want_dir}: {spec}; there: "
                     + "; ".join(sorted(want)))
        want_header, want_body = want[spec]
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
            x, y = struct.unpack(f"<{len(a) // 4}f", a), struct.unpack(f"<{len(b) // 4}f", b)
            difference = max((abs(p - q) for p, q in zip(x, y)), default=0.0)
            if difference > ROUNDING:
                sys.exit(f"{path}: {name} differs by {difference} (more than rounding, {ROUNDING})")
            worst = max(worst, difference)
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
