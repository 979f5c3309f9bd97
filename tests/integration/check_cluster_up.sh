#!/usr/bin/env bash
# `graphprobe cluster up` starts a cluster of separate processes and prints the coordinator's
# address last; an ablation submitted there runs to the end (watch exits 0) and its results
# download; a second `up` in the same folder is refused; `cluster down` stops every process.
#   check_cluster_up.sh GRAPHPROBE_BINARY SCRATCH_DIR
set -euo pipefail
graphprobe=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
cleanup() { "$graphprobe" cluster down --dir "$dir/cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$graphprobe" cluster up --dir "$dir/cluster" --extractors 2 >"$dir/up.log"
coordinator=$(tail -n 1 "$dir/up.log")
[[ "$coordinator" =~ ^127\.0\.0\.1:[0-9]+$ ]] || { echo "no coordinator address: $coordinator"; cat "$dir/up.log"; exit 1; }
pids=$(grep -o '"pid": [0-9]*' "$dir/cluster/cluster.json" | grep -o '[0-9]*$' | tr '\n' ' ')
[ "$(echo $pids | wc -w)" -eq 5 ] || { echo "expected 5 processes: $pids"; exit 1; }

if "$graphprobe" cluster up --dir "$dir/cluster" >"$dir/up2.log" 2>&1; then
  echo "a second cluster up in the same folder was not refused"; exit 1
fi
grep -q "already up" "$dir/up2.log" || { cat "$dir/up2.log"; exit 1; }

cat >"$dir/spec.json" <<'SPEC'
{"name": "cluster-up", "models": [{"name": "graph-toy", "path": "graph-toy"}],
 "graph_sizes": [5], "probes": ["logreg-head"], "seeds": [1], "dataset_sizes": [40]}
SPEC
id=$("$graphprobe" submit --coordinator "$coordinator" "$dir/spec.json" | tail -n 1)
"$graphprobe" watch --coordinator "$coordinator" "$id" >"$dir/watch.log" || { cat "$dir/watch.log"; exit 1; }
grep -q "succeeded" "$dir/watch.log" || { cat "$dir/watch.log"; exit 1; }
"$graphprobe" results --coordinator "$coordinator" "$id" --out "$dir/results" >/dev/null
[ "$(($(wc -l <"$dir/results/results.csv") - 1))" -eq 3 ] || { echo "expected 3 cells"; cat "$dir/results/results.csv"; exit 1; }

"$graphprobe" cluster down --dir "$dir/cluster" >/dev/null
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then echo "process $pid still running after cluster down"; exit 1; fi
done
[ ! -e "$dir/cluster/cluster.json" ] || { echo "cluster.json left behind"; exit 1; }
if "$graphprobe" cluster down --dir "$dir/cluster" 2>/dev/null; then
  echo "cluster down without a cluster succeeded"; exit 1
fi
echo "cluster up/down OK"
