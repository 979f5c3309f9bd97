#!/usr/bin/env bash
# Prints the distribution packages that provide the shared libraries the given binaries link
# directly (one name a line, sorted): what a runtime image built from a different stage must
# install; apt brings what those need in turn. Libraries no package owns (a PyTorch wheel's,
# found through the binary's RPATH) are left out: the image copies those along. Exit status 1,
# naming the library, if one the binaries load (directly or not) is not found at all.
#   deploy/runtime-packages.sh BINARY...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
# dpkg records a file under the path its package ships it at; after the /usr merge the loader may
# report it under the other one.
owner() {
  local path=$1 candidate found
  for candidate in "$path" "${path#/usr}" "/usr$path" "$(realpath "$path")"; do
    # "package:arch: path", a line per package that ships it; the first one's name.
    found=$(dpkg-query -S "$candidate" 2>/dev/null) || continue
    found=${found%%$'\n'*}
    echo "${found%%:*}"
    return 0
  done
}
status=0
libraries=$(ldd "$@" | awk '$2 == "=>" {print $1, $3}' | sort -u)
direct=" $(readelf -d "$@" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | tr '\n' ' ') "
packages=()
while read -r name path; do
  [ -n "$name" ] || continue
  if [ "$path" = "not" ]; then
    # The GPU driver's library is mounted into the container at run time, not installed.
    case $name in libcuda.so.*|libnvidia-*) continue ;; esac
    echo "runtime-packages: $name: not found" >&2
    status=1
    continue
  fi
  [[ $direct == *" $name "* ]] || continue
  package=$(owner "$path")
  [ -n "$package" ] && packages+=("$package")
done <<<"$libraries"
[ ${#packages[@]} -eq 0 ] || printf '%s\n' "${packages[@]}" | sort -u
exit "$status"
