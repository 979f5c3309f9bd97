#!/usr/bin/env bash
# Configures (once) and builds graphprobe into build/ with Ninja and ccache.
# GP_WERROR=ON turns warnings into errors (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGP_WERROR="${GP_WERROR:-OFF}"
fi
cmake --build build
