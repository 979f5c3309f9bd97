#!/usr/bin/env bash
# Configures and builds graphprobe into build/ with Ninja and ccache.
# GP_WERROR=ON turns warnings into errors; GP_DEBUG_INFO=OFF builds without debug information
# (CI sets both).
set -euo pipefail
cd "$(dirname "$0")/.."
# Options given in the environment; the others keep CMake's defaults on a new build/ and their
# cached values on an existing one, where configuring only once would silently ignore, e.g.,
# GP_DEBUG_INFO=OFF.
options=()
[ -z "${GP_WERROR:-}" ] || options+=("-DGP_WERROR=${GP_WERROR}")
[ -z "${GP_DEBUG_INFO:-}" ] || options+=("-DGP_DEBUG_INFO=${GP_DEBUG_INFO}")
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${options[@]}"
elif [ ${#options[@]} -gt 0 ]; then
  cmake -S . -B build "${options[@]}"
fi
cmake --build build
# The HTML reports inline this plotting library; without it `graphprobe run` still writes every
# result and says why there is no report.
bash scripts/fetch_web_assets.sh build/web-assets ||
  echo "build: no plotting library for the HTML reports (see above); results are unaffected" >&2
