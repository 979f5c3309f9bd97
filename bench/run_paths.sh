#!/usr/bin/env bash
# `graphprobe run` through the embedded services against the direct path (the scheduler on the
# local executor, no services), the same spec back to back in one invocation, from clean output
# directories. Prints each wall time and their ratio (docs/PERFORMANCE.md).
#   bench/run_paths.sh BUILD_DIR [SPEC]   (no SPEC: the built-in default ablation)
# KEEP_DIR=DIR keeps both output directories (DIR/services, DIR/direct) and their logs.
# ORDER="direct services" runs the direct path first (default: services first); this machine
# drifts by a few percent within an hour, so compare both orders.
set -euo pipefail
build=$1
spec_args=()
[ $# -ge 2 ] && spec_args=(--spec "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${KEEP_DIR:-}" ]; then
  rm -rf "$KEEP_DIR"
  mkdir -p "$KEEP_DIR"
  work=$KEEP_DIR
  trap - EXIT
fi
declare -A seconds
for mode in ${ORDER:-services direct}; do
  flags=()
  [ "$mode" = direct ] && flags=(--direct)
  start=$(date +%s%N)
  "$build/services/cli/graphprobe" run "${spec_args[@]}" "${flags[@]}" --out "$work/$mode" \
    >"$work/$mode.log" 2>&1
  end=$(date +%s%N)
  seconds[$mode]=$(python3 -c "print(($end - $start) / 1e9)")
  echo "$mode: ${seconds[$mode]} s"
done
python3 -c "print(f'services / direct: {${seconds[services]} / ${seconds[direct]}:.3f}')"
# The two paths must agree cell by cell.
python3 - "$work/services/results.json" "$work/direct/results.json" <<'PY'
import json, sys
a = {c["cell_id"]: c for c in json.load(open(sys.argv[1]))["cells"]}
b = {c["cell_id"]: c for c in json.load(open(sys.argv[2]))["cells"]}
assert a.keys() == b.keys(), "different cells"
worst = max(abs(a[k][s][m] - b[k][s][m]) for k in a for s in ("val", "test") for m in a[k][s])
print(f"{len(a)} cells, largest metric difference {worst:g}")
# Where the difference goes: the probes' own training time, summed over the cells.
for name, cells in (("services", a), ("direct", b)):
    print(f"{name}: probe training {sum(c['probe_seconds'] for c in cells.values()):.1f} s")
PY
