#!/usr/bin/env bash
# deploy/k8s and its overlay deploy/k8s-overlays/cpu-extractors checked without a cluster:
# `kubectl kustomize` renders them, the objects expected are there (the extractors on the GPU
# image and a GPU in the base, on the CPU image and no GPU in the overlay), and every object
# validates against the Kubernetes API schemas (tests/k8s/validate.js on kubernetes-models,
# installed once with npm into CACHE); a manifest broken on purpose must fail, so the validator
# is known to validate.
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
# The extractor's Deployment, from one rendered stream.
extractor_deployment() {
  awk '/^---/{if (d && e) print block; block=""; d=0; e=0; next}
       {block = block $0 "\n"} /^kind: Deployment/{d=1} /^  name: extractor$/{e=1}
       END{if (d && e) print block}' "$1"
}
render() {  # kustomization-dir output
  kubectl kustomize "$source_dir/$1" >"$2" 2>"$cache/kustomize.log" ||
    { cat "$cache/kustomize.log"; fail "kubectl kustomize $1"; }
  node "$source_dir/tests/k8s/validate.js" "$cache/node_modules" "$2" || fail "schema validation of $1"
}
rendered="$cache/rendered.yaml"
render deploy/k8s "$rendered"
for expected in "kind: StatefulSet" "kind: HorizontalPodAutoscaler" "kind: ConfigMap" \
  "clusterIP: None" "nvidia.com/gpu: 1" "readOnlyRootFilesystem: true" "runAsNonRoot: true" \
  "grpc:" "namespace: graphprobe" "image: graphprobe:latest"; do
  grep -q "$expected" "$rendered" || fail "rendered manifests lack '$expected'"
done
# The extractors run the CUDA image on a GPU; nothing else does.
extractor_deployment "$rendered" | grep -q "image: graphprobe-cuda:latest" ||
  fail "the extractor does not run graphprobe-cuda:latest"
[ "$(grep -c "graphprobe-cuda" "$rendered")" -eq 1 ] || fail "graphprobe-cuda outside the extractor"

# Without GPUs: the CPU image, on the CPU, asking for no GPU; everything else as in the base.
cpu="$cache/rendered-cpu-extractors.yaml"
render deploy/k8s-overlays/cpu-extractors "$cpu"
extractor_deployment "$cpu" >"$cache/cpu-extractor.yaml"
for expected in "image: graphprobe:latest" "--device=cpu" "--dtype=float32"; do
  grep -q -e "$expected" "$cache/cpu-extractor.yaml" || fail "cpu-extractors: the extractor lacks '$expected'"
done
for unexpected in "nvidia.com/gpu" "graphprobe-cuda" "--device=cuda"; do
  ! grep -q -e "$unexpected" "$cpu" || fail "cpu-extractors: '$unexpected' is still there"
done
[ "$(grep -c "^kind:" "$cpu")" -eq "$(grep -c "^kind:" "$rendered")" ] ||
  fail "cpu-extractors: not the same objects as the base"
sed 's/^  replicas: 2$/  replicas: "two"/' "$rendered" >"$cache/broken.yaml"
if node "$source_dir/tests/k8s/validate.js" "$cache/node_modules" "$cache/broken.yaml" 2>/dev/null; then
  fail "a Deployment with replicas: \"two\" passed validation"
fi
echo "k8s manifests OK"
