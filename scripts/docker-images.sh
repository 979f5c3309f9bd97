#!/usr/bin/env bash
# Builds the images docker-compose.yml runs, without any image registry: the Debian base
# (scripts/docker-base.sh), the binaries (scripts/build.sh), graphprobe:latest
# (deploy/Dockerfile) and graphprobe-prometheus:latest (deploy/Dockerfile.prometheus). The
# builds use the host network: apt inside them reaches the machine's mirror as the host does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/docker-base.sh
[ -x build/services/cli/graphprobe ] || bash scripts/build.sh
docker build --network host -q -f deploy/Dockerfile -t graphprobe:latest . >/dev/null
docker build --network host -q -f deploy/Dockerfile.prometheus -t graphprobe-prometheus:latest . >/dev/null
echo "built graphprobe:latest and graphprobe-prometheus:latest"
