#!/usr/bin/env bash
# deploy/k8s checked without a cluster: `kubectl kustomize` renders it, the objects expected are
# there, and every object validates against the Kubernetes API schemas (tests/k8s/validate.js
# on kubernetes-models, installed once with npm into CACHE); a manifest broken on purpose must
# fail, so the validator is known to validate.
#   check_manifests.sh SOURCE_DIR CACHE_DIR
set -euo pipefail
source_dir=$1
cache=$2
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$cache"
if [ ! -d "$cache/node_modules/kubernetes-models" ] || [ ! -d "$cache/node_modules/yaml" ]; then
  for attempt in 1 2 3; do
    npm install --no-audit --no-fund --no-save --prefix "$cache" \
      kubernetes-models@4.5.1 yaml@2.6.1 >"$cache/npm.log" 2>&1 && break
    sleep $((attempt * 5))
  done
  [ -d "$cache/node_modules/kubernetes-models" ] || { cat "$cache/npm.log"; fail "npm install"; }
fi
rendered="$cache/rendered.yaml"
kubectl kustomize "$source_dir/deploy/k8s" >"$rendered" 2>"$cache/kustomize.log" ||
  { cat "$cache/kustomize.log"; fail "kubectl kustomize deploy/k8s"; }
for expected in "kind: StatefulSet" "kind: HorizontalPodAutoscaler" "kind: ConfigMap" \
  "clusterIP: None" "nvidia.com/gpu: 1" "readOnlyRootFilesystem: true" "runAsNonRoot: true" \
  "grpc:" "namespace: graphprobe"; do
  grep -q "$expected" "$rendered" || fail "rendered manifests lack '$expected'"
done
node "$source_dir/tests/k8s/validate.js" "$cache/node_modules" "$rendered" || fail "schema validation"
sed 's/^  replicas: 2$/  replicas: "two"/' "$rendered" >"$cache/broken.yaml"
if node "$source_dir/tests/k8s/validate.js" "$cache/node_modules" "$cache/broken.yaml" 2>/dev/null; then
  fail "a Deployment with replicas: \"two\" passed validation"
fi
echo "k8s manifests OK"
