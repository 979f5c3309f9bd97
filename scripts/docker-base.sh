#!/usr/bin/env bash
# Builds graphprobe's Debian 12 base image without any image registry: debootstrap (minbase)
# from this machine's own apt mirror, read from its apt sources, with those sources and apt's
# settings copied in so apt inside the image uses the same mirror; then `docker import`.
# Idempotent: an existing image is kept unless --rebuild.
#   bash scripts/docker-base.sh [--rebuild]      # -> graphprobe-base:bookworm
set -euo pipefail
image=graphprobe-base:bookworm
if [ "${1:-}" != "--rebuild" ] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image exists"
  exit 0
fi
# shellcheck source=scripts/debian_mirror.sh
. "$(dirname "$0")/debian_mirror.sh"
ensure_debootstrap
mirror=$(debian_mirror)
[ -n "$mirror" ] || { echo "docker-base: no apt mirror found in /etc/apt/sources*"; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "docker-base: debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -n 20 "$root.log"; exit 1; }
rm -f "$root.log"
# apt inside the image: the machine's sources (only the Debian ones) and settings (proxies).
rm -f "$root/etc/apt/sources.list"
mkdir -p "$root/etc/apt/sources.list.d"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -s "$f" ] && grep -q "debian" "$f" && cp "$f" "$root/etc/apt/${f#/etc/apt/}"
done
cp -r /etc/apt/apt.conf.d/. "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
chroot "$root" apt-get clean
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "built $image"
