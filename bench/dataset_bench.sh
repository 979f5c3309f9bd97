#!/usr/bin/env bash
# graphs/s of `graphprobe dataset` on CPU, and the share of time in the forward pass:
# the tiny Llama 3 reference checkpoint (with a byte-level tokenizer.json) and a random-weight
# Qwen 2.5 0.5B of the real shape (with the real Qwen tokenizer.json).
#   bash bench/dataset_bench.sh [GRAPHS_TINY] [GRAPHS_QWEN]
set -euo pipefail
cd "$(dirname "$0")/.."
tiny_graphs=${1:-200}
qwen_graphs=${2:-16}
work=build/bench-dataset
mkdir -p "$work/tiny" "$work/qwen"
tests/fetch_tokenizers.sh build/tokenizers >/dev/null
cp tests/data/hf-reference/models/tiny-llama3/{config.json,model.safetensors} "$work/tiny/"
./build/bench/write_byte_tokenizer "$work/tiny/tokenizer.json" "<|begin_of_text|>"
cp tests/data/hf-reference/model-configs/qwen2.5-0.5b.json "$work/qwen/config.json"
cp build/tokenizers/qwen3.tokenizer.json "$work/qwen/tokenizer.json"
common=(--nodes 7 --notation arrow --names letters --mode topk:3 --perms 4 --header --batch 16)
echo "== tiny-llama3, $tiny_graphs graphs, float32"
./build/services/cli/graphprobe dataset --model "$work/tiny" --graphs "$tiny_graphs" "${common[@]}" --out "$work/tiny.safetensors"
echo "== qwen2.5-0.5b (random weights), $qwen_graphs graphs, float32"
./build/services/cli/graphprobe dataset --model "$work/qwen" --random-init --graphs "$qwen_graphs" "${common[@]}" --out "$work/qwen.safetensors"
