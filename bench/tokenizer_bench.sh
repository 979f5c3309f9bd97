#!/usr/bin/env bash
# Tokenizer throughput, graphprobe vs @lenml/tokenizers under Node, on the same 1 MB text in
# one run. Needs the build (scripts/build.sh), node and npm (npm registry access for the
# first run).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/fetch_tokenizers.sh build/tokenizers >/dev/null
mkdir -p build/bench-js
cp bench/js/package.json bench/js/tokenizer_bench.mjs build/bench-js/
(cd build/bench-js && npm install --silent --no-audit --no-fund >/dev/null)
./build/bench/tokenizer_bench --tokenizers build/tokenizers --text-out build/bench-text.txt "$@"
echo
echo "node $(node --version)"
node build/bench-js/tokenizer_bench.mjs build/bench-text.txt
