#!/usr/bin/env bash
# Builds the GPU image (deploy/Dockerfile.cuda) from this checkout's sources: the files git
# tracks or would track, as they are in the working tree, go to `docker build` as a tar stream,
# so neither build outputs nor the repository's .dockerignore (which admits only the CPU
# image's prebuilt binaries) shape what it sees. Needs the CUDA base images and a wheel index
# (pip's own settings, or --build-arg TORCH_INDEX_URL=...).
#   bash scripts/docker-cuda-image.sh [--tag T] [DOCKER_BUILD_ARGS...]   # -> graphprobe-cuda:latest
# --check-here builds the same Dockerfile on graphprobe-base:bookworm (scripts/docker-base.sh)
# against the distribution's CPU libtorch, for a machine without those images or wheels: every
# step but the wheel's install runs (the build, the runtime packages, the library check).
#   bash scripts/docker-cuda-image.sh --check-here        # -> graphprobe-cuda:check
set -euo pipefail
cd "$(dirname "$0")/.."
tag=graphprobe-cuda:latest
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --check-here)
      bash scripts/docker-base.sh
      tag=graphprobe-cuda:check
      args+=(--build-arg BASE=graphprobe-base:bookworm --build-arg RUNTIME_BASE=graphprobe-base:bookworm
        --build-arg TORCH=distribution)
      shift ;;
    *) args+=("$1"); shift ;;
  esac
done
# Tracked and untracked-but-not-ignored files that exist (a deletion not yet committed is left out).
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -f "$f" ] && [ "$f" != .dockerignore ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - |
  docker build --network host -f deploy/Dockerfile.cuda -t "$tag" "${args[@]}" -
echo "built $tag"
