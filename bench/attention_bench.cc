// Attention extraction throughput: sequences/s and tokens/s of a forward pass that captures
// every layer's attention (full maps, stacked into the [layers, B, heads, T, T] output, or only
// K node positions), against the same forward without capture; the bare and K-position passes
// also through the fused attention kernel (probabilities for the captured rows only). Plain
// main; prints a markdown table for docs/PERFORMANCE.md.
//   attention_bench [--length 128] [--batch 4] [--repeats 3] [--threads N] [--dtypes
//   float32,bfloat16]
//                   [--device cpu|cuda]
//                   [--models tiny-llama3=DIR,qwen2.5-0.5b=CONFIG.json,...]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/bench_model.h"
#include "bench/interleaved.h"
#include "common/core/allocator_tuning.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/decoder_model.h"
#include "common/model/linear.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kBenchFlags = {
    {"length", true, "tokens per sequence (default 128)"},
    {"batch", true, "sequences per forward (default 4)"},
    {"repeats", true,
     "timed rounds, modes interleaved; the fastest run of each counts (default 3)"},
    {"threads", true, "intra-op threads (default: all cores)"},
    {"positions", true, "K for the node-position capture mode (default 40)"},
    {"dtypes", true, "comma-separated: float32,bfloat16"},
    {"device", true, "cpu (default) or cuda"},
    {"models", true, "comma-separated NAME=checkpoint-dir or NAME=config.json (random weights)"},
};

absl::Status Run(const Flags& flags) {
  const int64_t length = *flags.Int("length", 128), batch = *flags.Int("batch", 4);
  const int64_t repeats = *flags.Int("repeats", 3), k = *flags.Int("positions", 40);
  at::set_num_threads(static_cast<int>(*flags.Int("threads", std::thread::hardware_concurrency())));
  const std::string data = GP_SOURCE_DIR "/tests/data/hf-reference";
  const std::string models =
      flags.Get("models", "tiny-llama3=" + data + "/models/tiny-llama3,tiny-gemma2=" + data +
                              "/models/tiny-gemma2,qwen2.5-0.5b=" + data +
                              "/model-configs/qwen2.5-0.5b.json");
  GP_ASSIGN_OR_RETURN(const std::vector<NamedModel> named_models, ParseNamedModels(models, "PATH"));
  std::cout << absl::StrFormat(
      "%s, threads %d, batch %d, T %d, K %d, fastest of %d; CPU bfloat16 matmul %s\n\n",
      flags.Get("device", "cpu"), at::get_num_threads(), batch, length, k, repeats,
      CpuHasFastBfloat16Matmul() ? "in hardware" : "emulated in float32 (no AVX512-BF16/AMX)");
  std::cout << "| model | dtype | bare forward seq/s | full capture seq/s | full capture tok/s | "
               "full capture time / bare time | K-position capture seq/s | bare forward, fused "
               "kernel seq/s | K-position capture, fused kernel seq/s "
               "|\n|---|---|---|---|---|---|---|---|---|\n";
  for (const std::string& dtype :
       std::vector<std::string>(absl::StrSplit(flags.Get("dtypes", "float32,bfloat16"), ','))) {
    for (const NamedModel& named : named_models) {
      auto options = ParseModelOptions(dtype, flags.Get("device", "cpu"));
      auto model = options.ok() ? LoadCheckpointOrConfig(named.path, *options)
                                : absl::StatusOr<DecoderModel>(options.status());
      if (!model.ok()) return Annotate(model.status(), named.name);
      c10::InferenceMode inference;
      at::Tensor ids = at::randint(model->config().vocab_size, {batch, length}, at::kLong);
      at::Tensor mask = at::ones({batch, length}, at::kLong);
      auto forward = [&](ForwardOptions::Capture capture, AttentionKernel kernel) {
        ForwardOptions options;
        options.capture = capture;
        options.attention_kernel = kernel;
        if (capture == ForwardOptions::Capture::kPositions) {
          options.capture_positions =
              at::arange(0, length, std::max<int64_t>(1, length / k), at::kLong)
                  .narrow(0, 0, std::min(k, length))
                  .expand({batch, std::min(k, length)})
                  .contiguous();
        }
        auto out = model->Forward(ids, mask, options);
        // Extraction ends with the output layout in host memory, as `graphprobe attention`
        // writes it. A host copy also waits for the device's queued kernels.
        if (out.ok() && capture != ForwardOptions::Capture::kNone) {
          at::stack(out->attentions).to(at::kCPU);
        } else {
          at::zeros({1}, model->options().device).to(at::kCPU);
        }
      };
      using Capture = ForwardOptions::Capture;
      constexpr AttentionKernel kExplicit = AttentionKernel::kExplicit;
      constexpr AttentionKernel kFused = AttentionKernel::kFused;
      const std::vector<double> seconds =
          FastestInterleaved(repeats, {[&] { forward(Capture::kNone, kExplicit); },
                                       [&] { forward(Capture::kAll, kExplicit); },
                                       [&] { forward(Capture::kPositions, kExplicit); },
                                       [&] { forward(Capture::kNone, kFused); },
                                       [&] { forward(Capture::kPositions, kFused); }});
      const double bare = seconds[0], full = seconds[1], positions = seconds[2];
      std::cout << absl::StrFormat(
          "| %s | %s | %.2f | %.2f | %.0f | %.2fx | %.2f | %.2f | %.2f |\n", named.name, dtype,
          batch / bare, batch / full, batch * length / full, full / bare, batch / positions,
          batch / seconds[3], batch / seconds[4]);
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  return gp::RunSubcommand("attention_bench", "attention_bench [flags]", gp::kBenchFlags,
                           std::vector<std::string>(argv + 1, argv + argc), std::cout, gp::Run);
}
