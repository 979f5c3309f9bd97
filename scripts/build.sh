#!/usr/bin/env bash
# Configures and builds graphprobe into build/ with Ninja and ccache.
# GP_WERROR=ON turns warnings into errors; GP_DEBUG_INFO=OFF builds without debug information
# (CI sets both).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGP_WERROR="${GP_WERROR:-OFF}" \
    -DGP_DEBUG_INFO="${GP_DEBUG_INFO:-ON}"
else
  # An existing build/ keeps its cached options; one given in the environment is applied to it
  # (otherwise GP_DEBUG_INFO=OFF on a configured tree would silently do nothing). Options not
  # given keep whatever the tree was configured with.
  options=()
  [ -z "${GP_WERROR:-}" ] || options+=("-DGP_WERROR=${GP_WERROR}")
  [ -z "${GP_DEBUG_INFO:-}" ] || options+=("-DGP_DEBUG_INFO=${GP_DEBUG_INFO}")
  [ ${#options[@]} -eq 0 ] || cmake -S . -B build "${options[@]}"
fi
cmake --build build
# The HTML reports inline this plotting library; without it `graphprobe run` still writes every
# result and says why there is no report.
bash scripts/fetch_web_assets.sh build/web-assets ||
  echo "build: no plotting library for the HTML reports (see above); results are unaffected" >&2
