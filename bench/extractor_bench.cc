// Dataset building through an extractor service vs in process, on the same CPU: graphs/s of
// the same dataset built by a LocalAttentionSource and by a RemoteAttentionSource talking to
// one graphprobe-extractor process on loopback (features pooled on the extractor, float32 and
// bfloat16 wire; or the rows streamed and pooled here, as before the extractor pooled),
// interleaved over rounds, and the bytes streamed. Both sides have the model loaded before
// timing.
//   extractor_bench --extractor build/services/extractor/graphprobe-extractor
//                   [--model-root models] [--model graph-toy] [--graphs 200] [--nodes 7]
//                   [--perms 2] [--batch 64] [--rounds 3]
#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "common/ablation/dataset_builder.h"
#include "common/core/allocator_tuning.h"
#include "common/core/status.h"
#include "common/rpc/remote_attention_source.h"
#include "common/rpc/server.h"
#include "services/cli/flags.h"
#include "tests/integration/service_process.h"

namespace gp {
namespace {

// Asks its source for rows and pools them here: what building through an extractor cost
// before the extractor pooled.
class PoolHereSource : public AttentionSource {
 public:
  explicit PoolHereSource(AttentionSource* rows) : rows_(rows) {}
  SourceShape shape() const override { return rows_->shape(); }
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override {
    GP_ASSIGN_OR_RETURN(std::vector<CapturedPrompt> out, rows_->Capture(prompts, {}, cancel));
    for (CapturedPrompt& c : out) {
      if (!c.attention.rows.defined() || pool.empty()) continue;
      GP_ASSIGN_OR_RETURN(std::vector<CapturedAttention> pooled,
                          AttentionFromRows(c.attention.rows.unsqueeze(1), {c.prompt}, pool));
      c.attention = std::move(pooled[0]);
    }
    return out;
  }

 private:
  AttentionSource* rows_;
};

const std::vector<FlagSpec> kFlags = {
    {"extractor", true, "the graphprobe-extractor binary"},
    {"model-root", true, "model root of the extractor (default models)"},
    {"model", true, "model path under the root (default graph-toy)"},
    {"graphs", true, "graphs per dataset (default 200)"},
    {"nodes", true, "nodes per graph (default 7)"},
    {"perms", true, "orderings per graph (default 2)"},
    {"batch", true, "prompts per Capture call (default 64)"},
    {"rounds", true, "interleaved rounds (default 3)"},
};

absl::Status Run(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(std::string binary, flags.Required("extractor"));
  const std::string root = flags.Get("model-root", "models");
  const std::string model = flags.Get("model", "graph-toy");
  DatasetSpec spec;
  spec.model = (std::filesystem::path(root) / model).string();
  GP_ASSIGN_OR_RETURN(spec.num_graphs, flags.Int32("graphs", 200));
  GP_ASSIGN_OR_RETURN(spec.generator.num_nodes, flags.Int32("nodes", 7));
  GP_ASSIGN_OR_RETURN(spec.permutations, flags.Int32("perms", 2));
  GP_ASSIGN_OR_RETURN(spec.batch_size, flags.Int32("batch", 64));
  GP_ASSIGN_OR_RETURN(int64_t rounds, flags.Int("rounds", 3));
  spec.features = *ParseFeatureMode("topk:3", {});

  testing::ExtractorProcess extractor(binary, root, {"--preload", model});
  if (extractor.address().empty()) return absl::UnavailableError("the extractor did not start");
  GP_RETURN_IF_ERROR(WaitForServing(extractor.address(), 60));
  ModelCache cache(1);
  GP_ASSIGN_OR_RETURN(auto local,
                      LocalAttentionSource::Create(ModelRefOf(spec), &cache, spec.batch_size));
  RemoteSourceOptions options;
  options.extractors = {extractor.address()};
  options.model.path = model;
  GP_ASSIGN_OR_RETURN(auto f32, RemoteAttentionSource::Create(options));
  options.wire_dtype = graphprobe::v1::DTYPE_BF16;
  GP_ASSIGN_OR_RETURN(auto bf16, RemoteAttentionSource::Create(options));
  options.wire_dtype = graphprobe::v1::DTYPE_F32;
  GP_ASSIGN_OR_RETURN(auto rows, RemoteAttentionSource::Create(options));
  PoolHereSource pool_here(rows.get());

  struct Variant {
    const char* name;
    AttentionSource* source;
    RemoteAttentionSource* remote;
    double best_seconds = 1e30;
    int64_t bytes = 0;
  };
  std::vector<Variant> variants = {
      {"in process", local.get(), nullptr},
      {"extractor pools, float32 wire", f32.get(), f32.get()},
      {"extractor pools, bfloat16 wire", bf16.get(), bf16.get()},
      {"extractor sends rows, pooled here (float32)", &pool_here, rows.get()}};
  const std::string out = (std::filesystem::temp_directory_path() / "gp_extractor_bench").string();
  for (int64_t r = 0; r < rounds; ++r) {
    for (Variant& v : variants) {
      DatasetBuildOptions build;
      build.source = v.source;
      const int64_t bytes_before = v.remote ? v.remote->BytesReceived() : 0;
      const auto start = std::chrono::steady_clock::now();
      GP_RETURN_IF_ERROR(BuildDatasets({spec}, {out}, build));
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      v.best_seconds = std::min(v.best_seconds, seconds);
      if (v.remote) v.bytes = v.remote->BytesReceived() - bytes_before;
    }
  }
  std::filesystem::remove(out);
  std::cout << absl::StrFormat(
      "%d graphs x %d nodes x %d orderings, batch %d, best of %d rounds\n\n", spec.num_graphs,
      spec.generator.num_nodes, spec.permutations, spec.batch_size, rounds);
  std::cout << "| source | graphs/s | time / in-process time | tensors on the wire, MB | MB/s |\n"
               "|---|---|---|---|---|\n";
  for (const Variant& v : variants) {
    const double mb = v.bytes / 1e6;
    std::cout << absl::StrFormat(
        "| %s | %.1f | %.2fx | %s | %s |\n", v.name, spec.num_graphs / v.best_seconds,
        v.best_seconds / variants[0].best_seconds, v.remote ? absl::StrFormat("%.1f", mb) : "-",
        v.remote ? absl::StrFormat("%.1f", mb / v.best_seconds) : "-");
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  std::vector<std::string> args(argv + 1, argv + argc);
  return gp::RunSubcommand("extractor_bench", "extractor_bench --extractor BINARY [flags]",
                           gp::kFlags, args, std::cout, gp::Run);
}
