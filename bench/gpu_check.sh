#!/usr/bin/env bash
# shellcheck disable=SC2317  # the sections are called by name from main
# GPU check, for a node with PyTorch (CUDA) but not our Debian packages: builds the compute
# core against PyTorch's own libtorch, then, in order of what issue #17 needs most (a device
# lease is short: whatever finished is in the log when time runs out):
#   accuracy  `graphprobe attention --device cuda` (explicit and fused) against the fixtures
#   endtoend  graphs/s from 7-node prompts to node-pair features on the host (feature_bench,
#             pooling on the host vs on the device, and on the device with the passes replayed
#             from CUDA graphs) for Llama 3.2 1B, Qwen 2.5 0.5B / 1.5B and Gemma 2 2B, and
#             transformers on the very same batches (SDPA forward only; eager + node rows
#             gathered on the GPU), then the goals table
#   datasets  a dataset of the toy model built on the GPU in bfloat16 vs the CPU in float32,
#             judged against the CPU's own bfloat16 build
#   anchors   the anchors' setup (batch 32, T=128): our forward and capture vs transformers
#   trainlm   200 `train-lm --device cuda` steps of the toy model's recipe
# A failing section is reported and the next one runs; the exit status says if any failed.
# With GP_DEADLINE_S (seconds from the start, e.g. 560 under a 600 s command limit) a section
# that would not end in time by its estimate is skipped and said so, rather than cut off: one
# command then gets the build, accuracy, the goals and the dataset check.
# What the node lacks comes carried in one folder, made here by bench/gpu_pack.sh:
#   bash bench/gpu_pack.sh              # here, once: .device/deps and .device/tokenizers
#   OUT=/tmp/out bash bench/gpu_check.sh [SECTION...]     # on the node, .device carried
# $OUT gets gpu_check.log, goals.md and the end-to-end results (JSON); the rest stays in $WORK.
# A later run on the same node reuses build-cuda. All sections together take about 11 minutes
# (estimated: the build 2-3, accuracy 1, endtoend 5, the rest 3); where one command may run
# less, set GP_DEADLINE_S, or split them: `accuracy endtoend`, then `datasets anchors trainlm`.
# GP_DEVICE_PACK (default .device) names the carried folder; GP_TORCH_CMAKE a libtorch's CMake
# prefix (default: python3's torch); GP_BUILD_TARGETS what to build (default: all the
# sections use).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-/tmp/graphprobe-gpu}
WORK=${WORK:-/tmp/graphprobe-gpu-work}
PACK=${GP_DEVICE_PACK:-.device}
DEADLINE=${GP_DEADLINE_S:-0}  # 0: none
mkdir -p "$OUT" "$WORK"

# Points the build at libtorch and at the carried libraries.
prefix_path=""
cmake_extra=()
find_dependencies() {
  prefix_path=${GP_TORCH_CMAKE:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')} ||
    return 1
  # The carried Debian libraries use the C++11 string ABI; a PyTorch before 2.7 does not, and
  # the link would fail with pages of undefined std::string symbols instead of this line.
  if [ -z "${GP_TORCH_CMAKE:-}" ] &&
    [ "$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')" = 0 ]; then
    echo "this PyTorch ($(python3 -c 'import torch; print(torch.__version__)')) uses the" \
      "pre-C++11 string ABI; Debian's libraries need the C++11 one (PyTorch 2.7 or later)"
    return 1
  fi
  [ -d "$PACK/deps" ] || { echo "no $PACK/deps: the node's own libraries must do"; return 0; }
  local deps libdir
  deps=$(cd "$PACK/deps" && pwd)
  libdir=$deps/usr/lib/x86_64-linux-gnu
  # Debian's pkg-config files name /usr: copies in $WORK point at the carried tree instead.
  mkdir -p "$WORK/pkgconfig"
  for pc in "$libdir"/pkgconfig/*.pc; do
    sed -E "s#^(prefix|exec_prefix|libdir|includedir)=/usr#\\1=$deps/usr#" "$pc" \
      >"$WORK/pkgconfig/$(basename "$pc")"
  done
  export PKG_CONFIG_PATH="$WORK/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  command -v pkg-config >/dev/null || cmake_extra+=("-DPKG_CONFIG_EXECUTABLE=$deps/usr/bin/pkgconf")
  prefix_path="$prefix_path;$deps/usr"
}
cuda_graphs=ON
configure() {  # C++ standard
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DGP_BUILD_RPC=OFF \
    -DGP_BUILD_TESTS=OFF -DGP_CXX_STANDARD="$1" -DGP_CUDA_GRAPHS="$cuda_graphs" \
    -DCMAKE_PREFIX_PATH="$prefix_path" "${cmake_extra[@]}" >"$WORK/cmake.log" 2>&1
}
configure_and_build() {  # C++ standard
  local targets
  read -r -a targets <<<"${GP_BUILD_TARGETS:-graphprobe attention_bench feature_bench}"
  configure "$1" || return 1
  # The CUDA graph recorder is the one file built against CUDA's own headers (never compiled
  # before the first device run): tried alone first and, if it does not build, left out (the
  # passes then run directly) rather than taking every target down with it.
  if [ "$cuda_graphs" = ON ] && ! cmake --build build-cuda -j"$(nproc)" \
    --target gp_cuda_graph_recorder >"$WORK/build-graphs.log" 2>&1; then
    echo "!! the CUDA graph recorder did not build; building without CUDA graphs:"
    grep -E "error" "$WORK/build-graphs.log" | head -10
    cp "$WORK/build-graphs.log" "$OUT/"
    cuda_graphs=OFF
    configure "$1" || return 1
  fi
  cmake --build build-cuda -j"$(nproc)" --target "${targets[@]}" -- -k 0 >"$WORK/build.log" 2>&1
}
# The binaries the sections run that the build made.
built_binaries() {
  local binary
  for binary in services/cli/graphprobe bench/attention_bench bench/feature_bench; do
    [ -x "build-cuda/$binary" ] && printf '%s ' "$binary"
  done
}
build() {
  local began=$SECONDS
  find_dependencies || return 1
  local status=0
  configure_and_build 17 || status=$?
  # A libtorch that needs a newer standard fails every target (they all include it); one
  # target's own error leaves the others built (-k 0), and the sections that have their
  # binary still run.
  if [ "$status" -ne 0 ] && [ -z "$(built_binaries)" ]; then
    echo "C++17 build failed, trying C++20:"
    tail -5 "$WORK/cmake.log" "$WORK/build.log"
    rm -rf build-cuda
    status=0
    cuda_graphs=ON
    configure_and_build 20 || status=$?
  fi
  if [ "$status" -ne 0 ]; then
    grep -E "error|FAILED" "$WORK/build.log" | head -30
    tail -10 "$WORK/cmake.log"
    cp "$WORK/cmake.log" "$WORK/build.log" "$OUT/"
    echo "!! build failed ($((SECONDS - began)) s); built: $(built_binaries)"
    return 1
  fi
  echo "== build ok ($((SECONDS - began)) s; CUDA graphs: $cuda_graphs)"
}

# Whether `seconds` more still end before the deadline.
time_for() {
  [ "$DEADLINE" -le 0 ] || [ $((SECONDS + $1)) -le "$DEADLINE" ]
}
failed=() skipped=()
section() {  # name estimated-seconds command...: runs it, reports a failure and carries on
  local name=$1 estimate=$2 began=$SECONDS
  shift 2
  if ! time_for "$estimate"; then
    local left=$((DEADLINE - SECONDS))
    echo "-- $name skipped: it takes about $estimate s, $((left > 0 ? left : 0)) s are left before GP_DEADLINE_S"
    skipped+=("$name")
    return
  fi
  echo "== $name"
  if ! "$@"; then
    echo "!! $name failed"
    failed+=("$name")
  fi
  echo "   ($((SECONDS - began)) s)"
}
cli=./build-cuda/services/cli/graphprobe
models=tests/data/hf-reference/models
configs=tests/data/hf-reference/model-configs

accuracy() {
  local status=0
  for m in tiny-llama3 tiny-qwen2 tiny-gemma2; do
    for dtype in float32 bfloat16; do
      for kernel in explicit fused; do
        # A failed run is reported and the rest still compared.
        rm -f "$WORK/$m-$dtype-$kernel.safetensors"
        "$cli" attention --model "$models/$m" --input "$models/$m/expected.safetensors" \
          --device cuda --dtype "$dtype" --kernel "$kernel" --logits \
          --out "$WORK/$m-$dtype-$kernel.safetensors" >/dev/null || status=1
      done
    done
  done
  python3 bench/gpu_compare.py accuracy "$WORK" || status=1
  return "$status"
}

# Prompts to node-pair features on the host, with the real tokenizers (carried gzipped in
# $PACK/tokenizers, or the tokenizer tests' cache in build/tokenizers).
tokenizer_file() {  # key
  local packed=$PACK/tokenizers/$1.tokenizer.json.gz cached=build/tokenizers/$1.tokenizer.json
  if [ -s "$packed" ]; then
    gunzip -c "$packed" >"$WORK/$1.tokenizer.json" && echo "$WORK/$1.tokenizer.json"
  elif [ -s "$cached" ]; then
    echo "$cached"
  else
    echo "no $packed or $cached (bash bench/gpu_pack.sh, then carry $PACK)" >&2
    return 1
  fi
}
endtoend_one() {  # model tokenizer-key
  local model=$1 tokenizer status=0
  tokenizer=$(tokenizer_file "$2") || return 1
  local run=(./build-cuda/bench/feature_bench --model "$configs/$model.json" --tokenizer "$tokenizer"
    --device cuda --dtype bfloat16 --batch 64 --graphs 1024 --rounds 3
    --batches-out "$WORK/batches-$model.json")
  # The replayed way's CUDA graphs ran on no GPU before: should they take the process down, the
  # direct ways are measured again without them (and the failure counts).
  if ! "${run[@]}" --cuda-graphs; then
    echo "!! $model with --cuda-graphs failed; again without"
    status=1
    "${run[@]}" || return 1
  fi
  python3 bench/gpu_compare.py endtoend "$WORK/batches-$model.json" "$OUT/endtoend-$model.json" ||
    status=1
  return "$status"
}
endtoend() {
  local status=0
  for pair in llama-3.2-1b=llama3 qwen2.5-0.5b=qwen3 qwen2.5-1.5b=qwen3 gemma-2-2b=gemma2; do
    # The goals table is made of whichever models were measured.
    if ! time_for 75; then echo "-- ${pair%=*} skipped: the deadline is near"; status=1; continue; fi
    endtoend_one "${pair%=*}" "${pair#*=}" || status=1
  done
  # Launch-bound or not (docs/PERFORMANCE.md, CUDA graphs): Llama's rate at a 4x larger batch.
  if time_for 40; then
    ./build-cuda/bench/feature_bench --model "$configs/llama-3.2-1b.json" \
      --tokenizer "$(tokenizer_file llama3)" --device cuda --dtype bfloat16 --batch 256 \
      --graphs 1024 --rounds 3 || status=1
  fi
  python3 bench/gpu_compare.py goals "$OUT" | tee "$OUT/goals.md"
  return "$status"
}

datasets() {
  for target in cpu:float32 cpu:bfloat16 cuda:bfloat16; do
    "$cli" dataset --model models/graph-toy --graphs 128 --perms 4 --mode topk:3+drop-sink \
      --device "${target%:*}" --dtype "${target#*:}" \
      --out "$WORK/dataset-${target%:*}-${target#*:}.safetensors" >/dev/null || return 1
  done
  python3 bench/gpu_compare.py datasets "$WORK"
}

anchors() {
  echo "graphprobe, cuda:"
  ./build-cuda/bench/attention_bench --device cuda --dtypes bfloat16 --batch 32 --repeats 5 \
    --models "llama-3.2-1b=$configs/llama-3.2-1b.json,qwen2.5-0.5b=$configs/qwen2.5-0.5b.json" &&
    echo "transformers, same card:" &&
    python3 bench/gpu_compare.py throughput "$configs"
}

# The embedded toy model's training on the card: seconds per step of the shipped recipe, 200
# steps from the checkpoint, to size a GPU training run.
trainlm() {
  "$cli" train-lm --device cuda --init-from models/graph-toy --out "$WORK/toy-cuda" --overwrite \
    --steps 200 --batch 64 --lr 5e-4 --warmup 50 --curriculum 0 --min-nodes 4 --max-nodes 10 \
    --answer-order text --notations labels,arrow,parents --eval-every 0 --eval-graphs 64 \
    >"$WORK/train-lm.log" 2>&1
  local status=$?
  tail -4 "$WORK/train-lm.log"
  return "$status"
}

main() {
  local sections=("$@")
  [ ${#sections[@]} -eq 0 ] && sections=(accuracy endtoend datasets anchors trainlm)
  echo "gpu_check $(date -u +%FT%TZ): ${sections[*]}"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  build || failed+=(build)
  for s in "${sections[@]}"; do
    case $s in
      accuracy) section "$s" 60 "$s" ;;
      endtoend) section "$s" 300 "$s" ;;
      datasets) section "$s" 60 "$s" ;;
      anchors) section "$s" 90 "$s" ;;
      trainlm) section "$s" 60 "$s" ;;
      build) ;;  # the build alone (it always runs first)
      *) echo "unknown section $s (build, accuracy, endtoend, datasets, anchors, trainlm)"; failed+=("$s") ;;
    esac
  done
  echo "== done in $SECONDS s; ${#failed[@]} failed${failed:+: ${failed[*]}}" \
    "${#skipped[@]} skipped${skipped:+: ${skipped[*]}}"
  [ ${#failed[@]} -eq 0 ]
}

main "$@" 2>&1 | tee -a "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
