#!/usr/bin/env bash
# docker-compose.yml for real: `docker-compose config` validates it and the GPU override
# (docker-compose.gpu.yml); then the images are built without a registry
# (scripts/docker-images.sh) and the stack runs with three extractors, every container on the
# host network and every address on loopback (tests/compose/host-network.yml).
# The CLI on the host submits a small spec; the datasets and results equal the one-process
# `graphprobe run` of the same spec cell by cell (up to float rounding), and each extractor
# served requests (its own metrics say so).
# Needs a Docker daemon: exits 77 (skipped) when none answers.
#   tests/compose/check_compose.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."
graphprobe="$build/services/cli/graphprobe"
fail() { echo "FAIL: $*"; exit 1; }
# The files validate with or without a daemon.
docker-compose config -q || fail "docker-compose config"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml alone"
docker-compose --profile grafana config -q || fail "docker-compose --profile grafana config"
gpu=$(docker-compose -f docker-compose.yml -f docker-compose.override.yml -f docker-compose.gpu.yml config) ||
  fail "docker-compose.gpu.yml"
for expected in "image: graphprobe-cuda:latest" "driver: nvidia" "- cuda$"; do
  grep -q -e "$expected" <<<"$gpu" || fail "docker-compose.gpu.yml: the stack lacks '$expected'"
done
# The override has to restate the extractor's whole command (compose replaces it): it must stay
# docker-compose.yml's with only the device and dtype added.
extractor_command() {
  awk '/^  [a-z-]+:$/{inside = ($1 == "extractor:")} inside && /^    command:$/{list=1; next}
       list && !/^    - /{list=0} list' <<<"$1"
}
cpu_command=$(extractor_command "$(docker-compose -f docker-compose.yml -f docker-compose.override.yml config)")
gpu_command=$(extractor_command "$gpu" | awk '
  /^    - --(device|dtype)$/ {skip = 1; next} skip {skip = 0; next} {print}')
if [ -z "$cpu_command" ] || [ "$cpu_command" != "$gpu_command" ]; then
  fail "docker-compose.gpu.yml: the extractor's command is not docker-compose.yml's plus --device and --dtype"
fi
docker info >/dev/null 2>&1 || { echo "SKIPPED: no Docker daemon (the files validate)"; exit 77; }
bash scripts/docker-images.sh

project=gpcompose$$
work=$(mktemp -d)
export GP_TEST_COORDINATOR_PORT=$((20000 + RANDOM % 40000))
export GP_TEST_HTTP_PORT=$((GP_TEST_COORDINATOR_PORT + 1))
compose() { docker-compose -p "$project" -f docker-compose.yml -f tests/compose/host-network.yml "$@"; }
cleanup() {
  compose logs --no-color >"$work/compose.log" 2>&1 || true
  compose down -v >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
compose config -q || fail "the host-network override does not validate"
compose up -d --scale extractor=3 coordinator extractor features trainer >/dev/null 2>&1 ||
  { compose logs --no-color | tail -n 40; fail "docker-compose up"; }
coordinator="127.0.0.1:$GP_TEST_COORDINATOR_PORT"

# Every worker registered (3 extractors, features, trainer).
for _ in $(seq 300); do
  live=""
  if "$graphprobe" list --coordinator "$coordinator" >/dev/null 2>&1; then live=ok; fi
  workers=$(compose logs --no-color coordinator 2>/dev/null | grep -c "event=worker_registered" || true)
  [ -n "$live" ] && [ "$workers" -ge 5 ] && break
  sleep 0.2
done
[ "${workers:-0}" -ge 5 ] || { compose logs --no-color | tail -n 40; fail "workers did not register"; }

cat >"$work/spec.json" <<'SPEC'
{"name": "compose", "models": [{"name": "graph-toy", "path": "graph-toy"}],
 "graph_sizes": [5], "feature_modes": ["raw", "argmax"], "probes": ["pair-mlp", "logreg-head"],
 "seeds": [1], "dataset_sizes": [150], "probe_training": {"epochs": 20, "hidden": 16}}
SPEC
id=$("$graphprobe" submit --coordinator "$coordinator" "$work/spec.json" | tail -n 1)
"$graphprobe" watch --coordinator "$coordinator" "$id" >"$work/watch.log" ||
  { cat "$work/watch.log"; fail "the ablation did not succeed"; }
"$graphprobe" results --coordinator "$coordinator" "$id" --out "$work/cluster" >/dev/null

# The same spec in one process, the model from the source tree.
sed "s|\"path\": \"graph-toy\"|\"path\": \"$PWD/models/graph-toy\"|" "$work/spec.json" >"$work/local.json"
"$graphprobe" run --spec "$work/local.json" --out "$work/embedded" >"$work/run.log" 2>&1 ||
  { tail -n 20 "$work/run.log"; fail "graphprobe run"; }
# Its datasets equal the feature service's up to float rounding: the three extractors batch the
# prompts otherwise than the embedded run, and on AVX-512 machines padding to another shape sums
# in another order. With features bit for bit the same, the probes train the same (metrics within
# 1e-6: the trainer's threads sum in another order); with rounding differences training amplifies
# them over its epochs (a loss 1e-6 apart was seen), so only a gross difference fails then.
docker cp "$(compose ps -q features):/data/datasets" "$work/cluster-datasets" ||
  fail "copying the feature service's datasets"
python3 tests/integration/dataset_difference.py "$work/cluster-datasets" \
  "$work/embedded/cluster/features/datasets" "$work/feature-difference" ||
  fail "the cluster's datasets differ from the embedded run's"
bound=$(awk '{ print ($1 == 0 ? 1e-6 : 0.1) }' "$work/feature-difference")
metrics() { jq -r '.cells[] | .cell_id as $id | (.val, .test, .test_interval) | to_entries[] | "\($id) \(.key) \(.value)"' "$1" | sort; }
paste -d' ' <(metrics "$work/cluster/results.json") <(metrics "$work/embedded/results.json") |
  awk -v bound="$bound" '{ if ($1 != $4 || $2 != $5) { print "cell mismatch: " $0; bad = 1 }
         d = $3 - $6; if (d < 0) d = -d; if (d > bound) { print "differs: " $0; bad = 1 }
         n++ }
       END { if (n == 0) { print "no metrics"; bad = 1 }; exit bad }' || fail "cluster and embedded results differ"
[ "$(jq '.cells | length' "$work/cluster/results.json")" -eq "$(jq '.cells | length' "$work/embedded/results.json")" ] ||
  fail "different numbers of cells"

# The coordinator in its image serves the report watch linked: the same page `graphprobe report`
# writes here from the downloaded results, the plotting library the image carries inlined.
url=$(tail -n 1 "$work/watch.log")
[ "$url" = "report: http://127.0.0.1:$GP_TEST_HTTP_PORT/ablations/$id/report" ] || fail "watch's last line: $url"
code=$(curl -s -o "$work/served.html" -w '%{http_code}' "${url#report: }")
[ "$code" = 200 ] || fail "the report: HTTP $code"
"$graphprobe" report "$work/cluster" --out "$work/local.html" >/dev/null
cmp -s "$work/served.html" "$work/local.html" || fail "the served report differs from graphprobe report's"
grep -q 'vega-lite (inlined by graphprobe)' "$work/served.html" || fail "the served report lacks the plotting library"

# Each of the three extractors served prompts (its own counter, at its metrics address).
served=0
for address in $(compose logs --no-color extractor | grep -o 'metrics on 127.0.0.1:[0-9]*' | awk '{print $3}' | sort -u); do
  n=$(curl -sf "http://$address/metrics" | awk '/^graphprobe_extractor_sequences_total / {print int($2)}')
  [ "${n:-0}" -gt 0 ] || fail "extractor with metrics at $address served no prompts"
  served=$((served + 1))
done
[ "$served" -eq 3 ] || fail "$served extractors reported metrics, expected 3"
echo "compose OK: 3 extractors, $(jq '.cells | length' "$work/cluster/results.json") cells equal to the embedded run's within $bound"
