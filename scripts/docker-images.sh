#!/usr/bin/env bash
# Builds the images docker-compose.yml runs, without any image registry: the Debian base
# (scripts/docker-base.sh), the binaries (scripts/build.sh), graphprobe:latest
# (deploy/Dockerfile) and graphprobe-prometheus:latest (deploy/Dockerfile.prometheus). The
# builds use the host network: apt inside them reaches the machine's mirror as the host does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/docker-base.sh
[ -x build/services/cli/graphprobe ] || bash scripts/build.sh
# The image copies the reports' plotting library; where npm could not fetch it the folder is
# empty and the coordinator serves reports that say so, as `graphprobe run` does.
mkdir -p build/web-assets
docker build --network host -q -f deploy/Dockerfile -t graphprobe:latest . >/dev/null
docker build --network host -q -f deploy/Dockerfile.prometheus -t graphprobe-prometheus:latest . >/dev/null
echo "built graphprobe:latest and graphprobe-prometheus:latest"
