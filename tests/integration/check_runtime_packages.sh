#!/usr/bin/env bash
# deploy/runtime-packages.sh on a real binary: the packages of the libraries it links directly
# (libtorch, gRPC, prometheus-cpp, the C library), nothing it only loads through them (a
# runtime image built from them gets the rest through apt), and exit 0.
#   check_runtime_packages.sh SOURCE_DIR BINARY
set -euo pipefail
packages=$("$1/deploy/runtime-packages.sh" "$2") || { echo "FAIL: exit status $?"; exit 1; }
for expected in '^libtorch' '^libgrpc\+\+' '^libprometheus-cpp-core' '^libc6$'; do
  grep -q -E "$expected" <<<"$packages" || { echo "FAIL: no package like $expected in: $packages"; exit 1; }
done
# libgomp comes with libtorch (its dependency), not as a library the binary names.
! grep -q '^libgomp' <<<"$packages" || { echo "FAIL: an indirect library's package listed: $packages"; exit 1; }
echo "runtime packages OK: $(tr '\n' ' ' <<<"$packages")"
