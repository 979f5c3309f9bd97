#!/usr/bin/env bash
# Runs one libFuzzer binary for SECONDS from a copy of its seed corpus (the checked-in corpus
# stays as it is) and fails on any crash, sanitizer report, leak, timeout or out-of-memory.
#   run_fuzzer.sh FUZZER SEED_CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts"
cp -r "$seeds"/. "$work/corpus/"
# -timeout: one input may take at most 10 s; -rss_limit_mb bounds memory per run.
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 || status=$?
tail -n 25 "$work/log"
# The last status line: inputs run, coverage (edges), features, corpus size.
grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true
if compgen -G "$work/artifacts/*" >/dev/null; then
  echo "run_fuzzer: $(basename "$fuzzer") found failing inputs:" >&2
  ls -la "$work/artifacts" >&2
  exit 1
fi
exit "$status"
