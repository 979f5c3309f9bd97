#!/usr/bin/env python3
"""Compiles (for syntax only) every translation unit that uses libtorch against another
libtorch's headers: a GPU node's PyTorch is years newer than Debian's libtorch 1.13, and a
build error found there costs scarce device time, so it is looked for here first.

  python3 scripts/check_libtorch_headers.py LIBTORCH_INCLUDE [--cuda-include DIR]... [--std c++17]

LIBTORCH_INCLUDE is a libtorch's include folder (the one holding ATen/, c10/ and torch/). The
compile commands come from a configured CPU build (build/compile_commands.json); the libtorch
include folders in them are replaced by the given ones. The CUDA graph recorder, which a CPU
build leaves out, is checked too when CUDA's runtime headers are given (--cuda-include); the
CUDA library headers libtorch also includes (cuBLAS, cuSPARSE, ...) get stand-ins declaring just
what libtorch's headers name, unless a given folder has them. Exit status 1 if any unit fails.

Caveats: headers that only the old libtorch has are still found under /usr/include (which no
flag can drop), and nothing is linked: a symbol libtorch no longer exports shows only there.
"""
import argparse, json, os, shlex, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_SUFFIX = "torch/csrc/api/include"
RECORDER = os.path.join(ROOT, "common/model/cuda_graph_recorder.cc")

# What libtorch's CUDA headers need of the CUDA libraries beyond the runtime, declared just
# enough to parse them.
CUDA_LIBRARY_STANDINS = {
    "cuda_runtime.h": "#include <cuda_runtime_api.h>\n",
    "cublas_v2.h": "typedef int cublasStatus_t;\ntypedef struct cublasContext* cublasHandle_t;\n",
    "cublasLt.h": "#include <cublas_v2.h>\ntypedef struct cublasLtContext* cublasLtHandle_t;\n",
    "cusparse.h": "typedef int cusparseStatus_t;\ntypedef struct cusparseContext* cusparseHandle_t;\n",
    "cusolver_common.h": "typedef int cusolverStatus_t;\n",
    "cusolverDn.h": "#include <cusolver_common.h>\n"
                    "typedef struct cusolverDnContext* cusolverDnHandle_t;\n",
    "cuda_bf16.h": "struct __nv_bfloat16 { unsigned short x; };\n"
                   "inline float __bfloat162float(__nv_bfloat16) { return 0; }\n"
                   "inline __nv_bfloat16 __float2bfloat16(float) { return {}; }\n",
    "cuda_fp16.h": "",
    "curand.h": "",
    "library_types.h": "",
    "nvrtc.h": "",
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libtorch_include")
    parser.add_argument("--cuda-include", action="append", default=[])
    parser.add_argument("--std", default="c++17")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--only", action="append", default=[], help="units whose path has this")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    return parser.parse_args()


def overlay_without_protobuf(include, into):
    """The include folder without its google/ (a libtorch ships protobuf headers of its own that
    would shadow the system's, which the services' generated code was made with)."""
    os.makedirs(into)
    for name in os.listdir(include):
        if name != "google":
            os.symlink(os.path.join(include, name), os.path.join(into, name))
    return into


def write_standins(cuda_dirs, into):
    os.makedirs(into)
    for name, text in CUDA_LIBRARY_STANDINS.items():
        if not any(os.path.exists(os.path.join(d, name)) for d in cuda_dirs):
            with open(os.path.join(into, name), "w") as f:
                f.write("#pragma once\n" + text)
    return into


def torch_include_dirs(args):
    """The include folders a command names for libtorch: the API folder, and its root unless
    that is the system's."""
    dirs = set()
    for flag, value in zip(args, args[1:]):
        if flag in ("-I", "-isystem") and value.rstrip("/").endswith(API_SUFFIX):
            dirs.add(value)
            root = value.rstrip("/")[: -len(API_SUFFIX)].rstrip("/")
            if root not in ("/usr/include", "/usr/local/include"):
                dirs.add(root)
    return dirs


def without_precompiled(header, into):
    """A copy of a precompiled header's source away from its .gch (made with the old headers,
    which the compiler would take instead)."""
    copy = os.path.join(into, header.replace("/", "_"))
    if not os.path.exists(copy):
        shutil.copyfile(header, copy)
    return copy


def syntax_command(command, new_includes, std, scratch):
    args = shlex.split(command)
    old = torch_include_dirs(args)
    out, skip, placed = [], False, False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in ("-I", "-isystem") and i + 1 < len(args) and args[i + 1] in old:
            if not placed:
                for d in new_includes:
                    out += ["-isystem", d]
                placed = True
            skip = True
            continue
        if arg == "-o":
            skip = True
            continue
        if i > 0 and args[i - 1] == "-include" and arg.endswith(".hxx"):
            arg = without_precompiled(arg, scratch)
        if arg.startswith("-std="):
            arg = "-std=" + std
        out.append(arg)
    return out + ["-fsyntax-only", "-Wno-deprecated-declarations"]


def main():
    args = parse_args()
    try:
        with open(os.path.join(args.build, "compile_commands.json")) as f:
            commands = json.load(f)
    except OSError as e:
        sys.exit(f"no compile commands ({e}): configure a build first (scripts/build.sh)")
    if not os.path.isdir(os.path.join(args.libtorch_include, "ATen")):
        sys.exit(f"{args.libtorch_include}: not a libtorch include folder (no ATen/ in it)")
    units = [c for c in commands if torch_include_dirs(shlex.split(c["command"]))]
    if not units:
        sys.exit("no unit of this build includes libtorch")
    if args.cuda_include and not any(c["file"] == RECORDER for c in units):
        template = units[0]["command"].rsplit(" -c ", 1)[0]
        units.append({"directory": units[0]["directory"], "file": RECORDER,
                      "command": f"{template} -c {RECORDER}"})
    if args.only:
        units = [c for c in units if any(o in c["file"] for o in args.only)]

    with tempfile.TemporaryDirectory() as tmp:
        include = overlay_without_protobuf(args.libtorch_include, os.path.join(tmp, "include"))
        new_includes = [include, os.path.join(include, API_SUFFIX)]
        if args.cuda_include:
            standins = write_standins(args.cuda_include, os.path.join(tmp, "cuda"))
            new_includes += args.cuda_include + [standins]

        # Made before the parallel runs: they share the copies of precompiled headers.
        runs = [(unit["file"], unit["directory"],
                 syntax_command(unit["command"], new_includes, args.std, tmp)) for unit in units]

        def check(run):
            path, directory, command = run
            done = subprocess.run(command, cwd=directory, capture_output=True, text=True)
            return path, done.returncode, done.stderr

        failed = 0
        with ThreadPoolExecutor(args.jobs) as pool:
            for path, status, errors in pool.map(check, runs):
                print(("ok    " if status == 0 else "FAIL  ") + os.path.relpath(path, ROOT),
                      flush=True)
                if status:
                    failed += 1
                    print("\n".join(l for l in errors.splitlines() if "error" in l)[:4000])
    print(f"{len(units) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
