// Random init of real model shapes on the CPU (DecoderModel::RandomInit, as the tests, the
// benchmarks and the GPU check make their random-weight models) with the huge-page hint
// (common/model/host_tensor.h) and without it (GRAPHPROBE_HUGE_PAGES=0), alternating within
// each round. Prints a markdown table for docs/PERFORMANCE.md.
//   random_init_bench [--models NAME=CONFIG.json,...] [--dtypes float32,bfloat16] [--repeats 3]
#include <ATen/Parallel.h>

#include <cstdlib>
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
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kBenchFlags = {
    {"models", true,
     "comma-separated NAME=config.json (default: Llama 3.2 1B, Qwen 2.5 0.5B, Gemma 2 2B)"},
    {"dtypes", true, "comma-separated model dtypes: float32,bfloat16 (default both)"},
    {"repeats", true, "timed rounds after a warm-up, modes interleaved; the fastest counts (3)"},
};

absl::Status Run(const Flags& flags) {
  const std::string configs = GP_SOURCE_DIR "/tests/data/hf-reference/model-configs/";
  std::string defaults;
  for (const char* name : {"llama-3.2-1b", "qwen2.5-0.5b", "gemma-2-2b"})
    absl::StrAppend(&defaults, defaults.empty() ? "" : ",", name, "=", configs, name, ".json");
  GP_ASSIGN_OR_RETURN(const int64_t repeats, flags.IntIn("repeats", 3, 1, 100));
  GP_ASSIGN_OR_RETURN(const std::vector<NamedModel> models,
                      ParseNamedModels(flags.Get("models", defaults), "CONFIG.json"));
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  std::cout << absl::StrFormat("threads %d, fastest of %d rounds after a warm-up\n\n",
                               at::get_num_threads(), repeats);
  std::cout << "| model | dtype | seconds, huge pages | seconds, 4 KiB pages | ratio |\n"
               "|---|---|---|---|---|\n";
  for (const NamedModel& named : models) {
    GP_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(named.path));
    GP_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(json, named.path));
    for (const std::string& dtype :
         std::vector<std::string>(absl::StrSplit(flags.Get("dtypes", "float32,bfloat16"), ','))) {
      GP_ASSIGN_OR_RETURN(ModelOptions options, ParseModelOptions(dtype, "cpu"));
      absl::Status failure;
      auto init_with = [&](const char* huge_pages) {
        return [&, huge_pages] {
          setenv("GRAPHPROBE_HUGE_PAGES", huge_pages, 1);
          // The model is freed inside the timed call, which a process keeping it would not do;
          // unmapping costs the same either way.
          const absl::Status status = DecoderModel::RandomInit(config, options, 0).status();
          if (!status.ok()) failure = status;
        };
      };
      const std::vector<double> seconds =
          FastestInterleaved(repeats, {init_with("1"), init_with("0")});
      GP_RETURN_IF_ERROR(Annotate(failure, named.name));
      std::cout << absl::StrFormat("| %s | %s | %.2f | %.2f | %.2fx |\n", named.name, dtype,
                                   seconds[0], seconds[1], seconds[1] / seconds[0]);
    }
  }
  unsetenv("GRAPHPROBE_HUGE_PAGES");
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  return gp::RunSubcommand("random_init_bench", "random_init_bench [flags]", gp::kBenchFlags,
                           std::vector<std::string>(argv + 1, argv + argc), std::cout, gp::Run);
}
