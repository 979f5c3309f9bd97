#!/usr/bin/env bash
# Builds and tests graphprobe in a Debian 13 root: libtorch 2.6, gcc 14, CMake 3.31, Abseil
# 20240722. The GPU nodes run a PyTorch 2.x that Debian 12 (libtorch 1.13, gcc 12) cannot
# show, and a device run is short: this finds what a newer libtorch or compiler breaks here,
# linked and run, not only compiled (scripts/check_libtorch_headers.py checks headers only).
# It runs the 2.x branches too (the fused attention's grouped-query call above all), which
# this machine's libtorch never takes.
#   usage (as root): bash scripts/check_debian13.sh [--rpc] [CTEST_ARGS...]
#   --rpc        build the services too (a GPU node builds with GP_BUILD_RPC=OFF, the default)
#   CTEST_ARGS   passed to ctest, e.g. -R model_test
# Warnings are errors (GP_WERROR=ON), as in CI. The root is made once with debootstrap from
# the Debian mirror this machine's apt uses and kept in $GP_DEBIAN13_ROOT (default
# /var/tmp/graphprobe-debian13) with its build, so a second run rebuilds only what changed.
# The committed tree (HEAD, a clean clone) is what gets built. The report test is left out
# (no browser in the root); tokenizers and the plotting library come from build/ here when
# fetched there, else through npm inside the root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
# shellcheck source=scripts/debian_mirror.sh
. scripts/debian_mirror.sh
root=${GP_DEBIAN13_ROOT:-/var/tmp/graphprobe-debian13}
rpc=OFF
if [ "${1:-}" = "--rpc" ]; then rpc=ON; shift; fi
[ "$(id -u)" -eq 0 ] || { echo "check_debian13: needs root (debootstrap, chroot)" >&2; exit 1; }

PACKAGES=(
  build-essential cmake ninja-build ccache git ca-certificates pkg-config python3
  # OpenBLAS's OpenMP build, not the pthreads one Debian 12 is set up with: in Debian 13 the
  # pthreads build's threads and libtorch's OpenMP threads wait on each other, and a training
  # step takes 10x as long (measured: `graphprobe train-lm`, 20 steps, 52 s against 4 s).
  libtorch-dev libopenblas0-openmp
  libabsl-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libsqlite3-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
)
# What the services' tests run besides the binaries (as scripts/setup.sh installs on Debian 12).
[ "$rpc" = ON ] && PACKAGES+=(jq curl npm kubernetes-client prometheus openssl)

in_root() {  # command: runs it in the root with a clean environment
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "$1"
}

if [ ! -f "$root/.graphprobe-debootstrapped" ]; then
  ensure_debootstrap >/dev/null
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "check_debian13: no Debian mirror in this machine's apt sources" >&2; exit 1; }
  echo "== debootstrap trixie into $root"
  rm -rf --one-file-system "$root"
  debootstrap --variant=minbase trixie "$root" "$mirror" >/tmp/check_debian13-debootstrap.log 2>&1 || {
    tail -5 /tmp/check_debian13-debootstrap.log
    exit 1
  }
  touch "$root/.graphprobe-debootstrapped"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's extra CA certificates and npm settings (the registry as configured here).
mkdir -p "$root/usr/local/share/ca-certificates"
cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
for f in /etc/npmrc "$HOME/.npmrc"; do [ -f "$f" ] && mkdir -p "$root$(dirname "$f")" && cp "$f" "$root$f"; done
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
if [ ! -f "$root/.graphprobe-packages" ] ||
  [ "$(cat "$root/.graphprobe-packages")" != "${PACKAGES[*]}" ]; then
  echo "== installing the build's packages"
  in_root "apt-get update -q && apt-get install -y -q --no-install-recommends ${PACKAGES[*]}" \
    >/tmp/check_debian13-apt.log 2>&1 || { tail -10 /tmp/check_debian13-apt.log; exit 1; }
  in_root "update-ca-certificates >/dev/null"
  echo "${PACKAGES[*]}" >"$root/.graphprobe-packages"
fi
in_root "dpkg-query -W -f='\${Package} \${Version}\n' libtorch-dev g++ cmake libabsl-dev libgrpc++-dev"

# A clean clone of HEAD; the build folder is kept between runs.
rm -rf "$root/srv/project" && mkdir -p "$root/srv"
git clone -q "$repo" "$root/srv/project"
[ -d "$repo/../shared" ] && rm -rf "$root/srv/shared" && cp -r "$repo/../shared" "$root/srv/shared"
build=/srv/build-rpc-$rpc
mkdir -p "$root$build"
for fetched in tokenizers web-assets; do
  [ -d "build/$fetched" ] && [ ! -d "$root$build/$fetched" ] && cp -r "build/$fetched" "$root$build/"
done

echo "== build (GP_BUILD_RPC=$rpc, GP_WERROR=ON)"
in_root "cmake -S /srv/project -B $build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGP_BUILD_RPC=$rpc -DGP_WERROR=ON >$build/cmake.log 2>&1 || { tail -20 $build/cmake.log; exit 1; }
  ninja -C $build -k 0 >$build/build.log 2>&1 ||
    { grep -E -A5 'error|FAILED' $build/build.log | head -60; exit 1; }"
echo "== test"
# The ctest arguments quoted for the root's shell (a regex such as 'a|b' stays one argument).
ctest_args=""
[ $# -gt 0 ] && ctest_args=$(printf ' %q' "$@")
in_root "cd $build && ctest -j2 --output-on-failure -E graphprobe_report$ctest_args"
