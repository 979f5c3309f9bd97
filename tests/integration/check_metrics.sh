#!/usr/bin/env bash
# Metrics checked with the real tools: a local cluster (`graphprobe cluster up`, two extractors,
# every process serving /metrics) runs a small ablation while Debian's Prometheus scrapes it
# with deploy/prometheus/prometheus.yml rendered for the loopback targets. Then: `promtool check
# metrics` passes on every endpoint; through Prometheus's query API every target is up and the
# key series moved (each extractor ran prompts, graphs were featurized, epochs trained, every
# cell done, the live workers counted); and every PromQL expression of the Grafana dashboard
# parses and runs, the key panels returning data.
#   check_metrics.sh GRAPHPROBE_BINARY SOURCE_DIR SCRATCH_DIR
set -euo pipefail
graphprobe=$1
source_dir=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
prometheus_pid=
cleanup() {
  [ -n "$prometheus_pid" ] && kill "$prometheus_pid" 2>/dev/null || true
  "$graphprobe" cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$graphprobe" cluster up --dir "$dir/cluster" --extractors 2 >"$dir/up.log"
coordinator=$(tail -n 1 "$dir/up.log")
cluster_json="$dir/cluster/cluster.json"
metrics_of() { jq -r --arg kind "$1" '.processes[] | select(.name | startswith($kind)) | .metrics' "$cluster_json"; }

# deploy/prometheus/prometheus.yml for loopback: its global settings (a faster scrape for the
# test) and its jobs, each job's targets the cluster's processes of that kind.
config="$dir/prometheus.yml"
{
  echo "global:"
  echo "  scrape_interval: 1s"
  echo "  evaluation_interval: 1s"
  echo "scrape_configs:"
  for job in $(grep -o 'job_name: [a-z-]*' "$source_dir/deploy/prometheus/prometheus.yml" | awk '{print $2}'); do
    kind=${job#graphprobe-}
    targets=$(metrics_of "$kind" | sed 's/.*/"&"/' | paste -sd, -)
    [ -n "$targets" ] || fail "no process of kind $kind for job $job"
    echo "  - job_name: $job"
    echo "    static_configs:"
    echo "      - targets: [$targets]"
  done
} >"$config"
promtool check config "$config" >/dev/null || fail "rendered config does not check"

# A free loopback port for Prometheus (it cannot take port 0).
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  prometheus --config.file="$config" --storage.tsdb.path="$dir/tsdb" \
    --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
  prometheus_pid=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    kill -0 "$prometheus_pid" 2>/dev/null || break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  kill "$prometheus_pid" 2>/dev/null || true
  prometheus_pid=
done
[ -n "$prometheus_pid" ] || { cat "$dir/prometheus.log"; fail "prometheus did not start"; }
api="http://127.0.0.1:$port/api/v1"
query() { curl -sf --get "$api/query" --data-urlencode "query=$1"; }
# The value of a one-series answer (or "none").
value() { query "$1" | jq -r 'if (.data.result | length) == 1 then .data.result[0].value[1] else "none" end'; }

# Every target up (5: coordinator, two extractors, features, trainer).
for _ in $(seq 100); do
  [ "$(value 'sum(up)')" = "5" ] && break
  sleep 0.2
done
[ "$(value 'sum(up)')" = "5" ] || { query up; fail "not every target is up"; }

cat >"$dir/spec.json" <<'SPEC'
{"name": "metrics", "models": [{"name": "graph-toy", "path": "graph-toy"}],
 "graph_sizes": [5], "feature_modes": ["raw", "argmax"], "probes": ["pair-mlp", "logreg-head"],
 "seeds": [1], "dataset_sizes": [120], "probe_training": {"epochs": 20, "hidden": 16}}
SPEC
id=$("$graphprobe" submit --coordinator "$coordinator" "$dir/spec.json" | tail -n 1)
"$graphprobe" watch --coordinator "$coordinator" "$id" >"$dir/watch.log" || { cat "$dir/watch.log"; fail "ablation did not succeed"; }
cells=$(($(grep -o 'cells [0-9]*/[0-9]*' "$dir/watch.log" | tail -n 1 | cut -d/ -f2)))
sleep 3  # the last scrapes

for m in $(jq -r '.processes[].metrics' "$cluster_json"); do
  curl -sf "http://$m/metrics" >"$dir/scrape.txt" || fail "no metrics at $m"
  promtool check metrics <"$dir/scrape.txt" || fail "promtool rejects the metrics of $m"
  grep -q '^graphprobe_build_info{' "$dir/scrape.txt" || fail "no graphprobe_build_info at $m"
done

# The key series moved.
for extractor in $(metrics_of extractor); do
  v=$(value "graphprobe_extractor_sequences_total{instance=\"$extractor\"}")
  [ "$v" != none ] && [ "$v" -gt 0 ] || fail "extractor $extractor ran no prompts ($v)"
done
check_positive() {
  local v
  v=$(value "$1")
  [ "$v" != none ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$1 = $v"
}
check_positive 'sum(graphprobe_extractor_tokens_total)'
check_positive 'sum(graphprobe_extractor_request_duration_seconds_count)'
check_positive 'sum(graphprobe_features_graphs_total)'
check_positive 'sum(graphprobe_features_received_bytes_total)'
check_positive 'sum(graphprobe_trainer_epochs_total)'
check_positive 'sum(graphprobe_extractor_model_load_seconds_count)'
[ "$(value 'graphprobe_coordinator_cells{state="done"}')" = "$cells" ] || fail "cells done != $cells"
[ "$(value 'graphprobe_coordinator_workers{kind="extractor"}')" = "2" ] || fail "live extractors != 2"
[ "$(value 'graphprobe_trainer_jobs{state="succeeded"}')" = "$cells" ] || fail "trainer jobs succeeded != $cells"
[ "$(value 'graphprobe_features_jobs{state="succeeded"}')" = "1" ] || fail "features jobs succeeded != 1"

# Every panel query of the dashboard parses and runs; the key panels return data.
dashboard="$source_dir/deploy/grafana/dashboards/graphprobe.json"
jq -e '.panels | length > 0' "$dashboard" >/dev/null || fail "dashboard has no panels"
count=0
while IFS=$'\t' read -r title expr; do
  answer=$(curl -s --get "$api/query" --data-urlencode "query=$expr")
  [ "$(jq -r .status <<<"$answer")" = success ] || fail "panel '$title': $expr: $(jq -r .error <<<"$answer")"
  case "$title" in
    "Extraction throughput"*|"Extract call latency"*|"Prompts per forward pass"|"Cells by state"|"Live workers"|"Dataset jobs by state"|"Builds")
      [ "$(jq '.data.result | length' <<<"$answer")" -gt 0 ] || fail "key panel '$title' has no data: $expr" ;;
  esac
  count=$((count + 1))
done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, .expr] | @tsv' "$dashboard")
[ "$count" -ge 10 ] || fail "only $count dashboard queries"
echo "metrics OK: $count dashboard queries, $cells cells"
