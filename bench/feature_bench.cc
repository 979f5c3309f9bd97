// End-to-end feature extraction: graphs/s from prompt text to node-pair features in host
// memory, two ways in the same run, interleaved over rounds:
// - host pooling (today's extractor + feature service): the node tokens' rows copied to the
//   host, pooled per prompt there (CaptureRows + PairFeatures);
// - device pooling (what the local source runs): pooled where the forward ran, only
//   [B, N, N, F] copied, each batch started before the previous one is finished (StartCapture).
// Both include tokenizing and batching by length; the device result is checked against the
// host one. A model is a checkpoint directory, or a config.json (random weights of its shapes)
// with a tokenizer.json. --batches-out writes the token ids and captured positions of every
// batch with the measured rates, so transformers can run the very same batches
// (bench/gpu_compare.py endtoend). An untimed pass counts the ATen ops the device way
// dispatches per batch (op_counter.h): with the batch time, whether launches bound it.
// --cuda-graphs adds a third way: device pooling with the forward passes padded to shapes that
// repeat and replayed (RowsReplayer: CUDA graphs on a GPU; on a CPU the same padded passes,
// rerun), checked against the device way and reported with what was recorded.
//   feature_bench --model models/graph-toy [--tokenizer T.json] [--graphs 256] [--nodes 7]
//                 [--batch 32] [--mode topk:3+drop-sink] [--dtype float32] [--device cpu]
//                 [--rounds 3] [--threads N] [--batches-out FILE.json] [--cuda-graphs]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <numeric>
#include <optional>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/bench_model.h"
#include "bench/op_counter.h"
#include "common/ablation/attention_source.h"
#include "common/ablation/dataset_builder.h"
#include "common/core/allocator_tuning.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/features/pair_features.h"
#include "common/model/recording.h"
#include "common/model/rows_replayer.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kFlags = {
    {"model", true, "checkpoint directory, or a config.json for random weights of its shapes"},
    {"tokenizer", true, "tokenizer.json (default: the checkpoint's)"},
    {"graphs", true, "7-node prompts per round (default 256)"},
    {"nodes", true, "nodes per graph (default 7)"},
    {"batch", true, "prompts per forward pass (default 32)"},
    {"mode", true, "feature mode (default topk:3+drop-sink)"},
    {"dtype", true, "float32 (default) or bfloat16"},
    {"device", true, "cpu (default) or cuda"},
    {"rounds", true, "timed rounds, the ways interleaved; the fastest counts (default 3)"},
    {"threads", true, "intra-op threads (default: all cores)"},
    {"batches-out", true, "JSON file: every batch's ids and captured positions, and the rates"},
    {"cuda-graphs", false, "also measure device pooling with passes replayed (RowsReplayer)"},
};

// ATen ops dispatched per batch (op_counter.h): all of them, and the top-level ones (those
// graphprobe calls itself).
struct OpsPerBatch {
  double all = 0, top_level = 0;
};

// The replayed way's numbers, for the table and --batches-out.
struct ReplayedWay {
  double graphs_per_s = 0;
  double largest_difference = 0;   // from the device way's features
  double top_level_per_batch = 0;  // ATen ops graphprobe dispatches per batch
  std::string recorder;
  ReplayStats stats;
};

// The prompts tokenized, in batches of similar lengths (as LocalAttentionSource batches).
absl::StatusOr<std::vector<std::vector<PreparedPrompt>>> PrepareBatches(
    const Tokenizer& tokenizer, const std::vector<CapturePrompt>& prompts, size_t batch_size) {
  std::vector<PreparedPrompt> prepared;
  std::vector<size_t> lengths;
  for (const CapturePrompt& prompt : prompts) {
    GP_ASSIGN_OR_RETURN(PreparedPrompt p, PreparePrompt(tokenizer, prompt));
    lengths.push_back(p.ids.size());
    prepared.push_back(std::move(p));
  }
  std::vector<std::vector<PreparedPrompt>> batches;
  for (const std::vector<size_t>& indices : BatchesByLength(lengths, batch_size)) {
    batches.emplace_back();
    for (size_t i : indices) batches.back().push_back(std::move(prepared[i]));
  }
  return batches;
}

// What --batches-out writes: the run's settings, its two rates and its batches as run.
nlohmann::json BatchesJson(const Flags& flags,
                           const std::vector<std::vector<PreparedPrompt>>& batches,
                           double host_graphs_per_s, double device_graphs_per_s,
                           const OpsPerBatch& ops, const std::optional<ReplayedWay>& replayed) {
  nlohmann::json out = {
      {"model", flags.Get("model", "")},
      {"dtype", flags.Get("dtype", "float32")},
      {"device", flags.Get("device", "cpu")},
      {"graphs_per_s",
       {{"host_pooling", host_graphs_per_s}, {"device_pooling", device_graphs_per_s}}},
      {"ops_per_batch", {{"all", ops.all}, {"top_level", ops.top_level}}},
      {"batches", nlohmann::json::array()}};
  if (replayed) {
    out["graphs_per_s"]["replayed"] = replayed->graphs_per_s;
    out["replayed"] = {{"recorder", replayed->recorder},
                       {"largest_difference_from_device_pooling", replayed->largest_difference},
                       {"direct", replayed->stats.direct},
                       {"recorded", replayed->stats.recorded},
                       {"replayed", replayed->stats.replayed},
                       {"top_level_ops_per_batch", replayed->top_level_per_batch},
                       {"recording_failure", replayed->stats.recording_failure}};
  }
  for (const auto& batch : batches) {
    nlohmann::json ids = nlohmann::json::array(), rows = nlohmann::json::array();
    for (const PreparedPrompt& p : batch) {
      ids.push_back(p.ids);
      rows.push_back(p.positions);
    }
    out["batches"].push_back({{"ids", std::move(ids)}, {"rows", std::move(rows)}});
  }
  return out;
}

absl::Status Run(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(std::string model_path, flags.Required("model"));
  GP_ASSIGN_OR_RETURN(int64_t graphs, flags.Int("graphs", 256));
  GP_ASSIGN_OR_RETURN(int64_t nodes, flags.Int("nodes", 7));
  GP_ASSIGN_OR_RETURN(int64_t batch, flags.Int("batch", 32));
  GP_ASSIGN_OR_RETURN(int64_t rounds, flags.Int("rounds", 3));
  GP_ASSIGN_OR_RETURN(int64_t threads, flags.Int("threads", std::thread::hardware_concurrency()));
  if (graphs < 1 || batch < 1 || rounds < 1) {
    return absl::InvalidArgumentError("--graphs, --batch and --rounds must be >= 1");
  }
  at::set_num_threads(static_cast<int>(threads));
  GP_ASSIGN_OR_RETURN(FeatureOptions features,
                      ParseFeatureMode(flags.Get("mode", "topk:3+drop-sink"), {}));
  GP_ASSIGN_OR_RETURN(ModelOptions options,
                      ParseModelOptions(flags.Get("dtype", "float32"), flags.Get("device", "cpu")));
  GP_ASSIGN_OR_RETURN(DecoderModel model, LoadCheckpointOrConfig(model_path, options));
  GP_ASSIGN_OR_RETURN(Tokenizer tokenizer,
                      Tokenizer::FromFile(flags.Get("tokenizer", model_path + "/tokenizer.json")));

  // The default run's prompts: arrow notation with the node header, so every node is mentioned.
  DatasetSpec spec;
  spec.model = model_path;
  spec.generator.num_nodes = static_cast<int>(nodes);
  spec.prompt.node_header = true;
  std::vector<CapturePrompt> prompts;
  for (int g = 0; g < graphs; ++g) {
    GP_ASSIGN_OR_RETURN(DatasetGraph item, DatasetGraphOf(spec, g));
    prompts.push_back({item.prompts[0].text, item.prompts[0].mentions});
  }

  c10::InferenceMode inference;
  std::vector<at::Tensor> host_result, device_result, replayed_result;
  std::optional<RowsReplayer> replayer;
  if (flags.Has("cuda-graphs")) replayer.emplace(&model, MakeRecorder(options.device));
  const auto host_pooling = [&]() -> absl::Status {
    host_result.clear();
    GP_ASSIGN_OR_RETURN(auto batches, PrepareBatches(tokenizer, prompts, batch));
    for (const auto& prepared : batches) {
      GP_ASSIGN_OR_RETURN(std::vector<at::Tensor> rows, CaptureRows(model, prepared));
      for (size_t i = 0; i < prepared.size(); ++i) {
        GP_ASSIGN_OR_RETURN(
            at::Tensor f,
            PairFeatures(rows[i], RowOfToken(prepared[i].positions, prepared[i].ids.size()),
                         prepared[i].mentions, features));
        host_result.push_back(f);
      }
    }
    return absl::OkStatus();
  };
  // Device pooling, the passes run directly or through `replaying` (when not null).
  const auto device_pooling_into = [&](std::vector<at::Tensor>* result,
                                       RowsReplayer* replaying) -> absl::Status {
    result->clear();
    GP_ASSIGN_OR_RETURN(auto batches, PrepareBatches(tokenizer, prompts, batch));
    // One batch's features stay in flight to the host while the next batch is queued.
    CapturePipeline pipeline([&](const std::vector<size_t>&, std::vector<CapturedAttention> done) {
      for (CapturedAttention& c : done) result->push_back(std::move(c.features[0]));
    });
    for (const auto& prepared : batches) {
      GP_ASSIGN_OR_RETURN(PendingAttention started,
                          StartCapture(model, prepared, {features}, replaying));
      pipeline.Add(std::move(started), {});
    }
    pipeline.Flush();
    return absl::OkStatus();
  };
  const auto device_pooling = [&] { return device_pooling_into(&device_result, nullptr); };
  const auto replayed_pooling = [&] { return device_pooling_into(&replayed_result, &*replayer); };

  // Round -1 warms up. The replayed way runs it twice: a shape is recorded when seen again,
  // so the timed rounds replay every shape that repeats instead of recording it.
  if (replayer) GP_RETURN_IF_ERROR(replayed_pooling());
  const int ways = replayer ? 3 : 2;
  std::vector<double> best(ways, 1e30);
  for (int64_t round = -1; round < rounds; ++round) {
    for (int way = 0; way < ways; ++way) {
      const auto start = std::chrono::steady_clock::now();
      GP_RETURN_IF_ERROR(way == 0   ? host_pooling()
                         : way == 1 ? device_pooling()
                                    : replayed_pooling());
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (round >= 0) best[way] = std::min(best[way], seconds);
    }
  }
  const double best_host = best[0], best_device = best[1];
  // The batches as both ways formed them: for the op count and --batches-out.
  GP_ASSIGN_OR_RETURN(const auto batches, PrepareBatches(tokenizer, prompts, batch));
  // The ATen ops a device way dispatches per batch, counted in an untimed pass.
  const auto ops_per_batch_of =
      [&](const std::function<absl::Status()>& way) -> absl::StatusOr<OpsPerBatch> {
    DispatchedOpCounter counter;
    GP_RETURN_IF_ERROR(way());
    const double count = static_cast<double>(batches.size());
    return OpsPerBatch{static_cast<double>(counter.all()) / count,
                       static_cast<double>(counter.top_level()) / count};
  };
  GP_ASSIGN_OR_RETURN(const OpsPerBatch direct_ops, ops_per_batch_of(device_pooling));
  const auto largest_difference_between = [](const std::vector<at::Tensor>& a,
                                             const std::vector<at::Tensor>& b) {
    double largest = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      largest = std::max(largest, (a[i] - b[i]).abs().max().item<double>());
    }
    return largest;
  };
  const double largest_difference = largest_difference_between(device_result, host_result);
  std::optional<ReplayedWay> replayed;
  if (replayer) {
    replayed.emplace();
    replayed->graphs_per_s = graphs / best[2];
    replayed->largest_difference = largest_difference_between(replayed_result, device_result);
    GP_ASSIGN_OR_RETURN(const OpsPerBatch replayed_ops, ops_per_batch_of(replayed_pooling));
    replayed->top_level_per_batch = replayed_ops.top_level;
    replayed->recorder = replayer->recorder().name();
    replayed->stats = replayer->stats();
  }
  std::cout << absl::StrFormat(
      "%s, %s on %s, %d threads, %d graphs of %d nodes, batch %d, %s, fastest of %d\n\n",
      model_path, flags.Get("dtype", "float32"), flags.Get("device", "cpu"), at::get_num_threads(),
      graphs, nodes, batch, FeatureModeName(features), rounds);
  // All ops include those other ops call: on a CPU, small batched matmuls loop over their
  // batch through per-item ops that a GPU's one batched kernel never dispatches; top-level
  // ops are what graphprobe asked for, the same on every device.
  std::cout << "| host pooling graphs/s | device pooling graphs/s | device / host | largest "
               "feature difference | device pooling: ATen ops per batch, all (top-level) "
               "|\n|---|---|---|---|---|\n";
  std::cout << absl::StrFormat("| %.1f | %.1f | %.2fx | %.1e | %.0f (%.0f) |\n", graphs / best_host,
                               graphs / best_device, best_host / best_device, largest_difference,
                               direct_ops.all, direct_ops.top_level);
  if (replayed) {
    // Ops per batch: a CUDA graph's pass dispatches none, leaving the copies in and out and the
    // pooling; a rerun dispatches the whole pass again.
    std::cout << "\n| replayed (" << replayed->recorder
              << ") graphs/s | replayed / device | largest difference from device pooling | "
                 "passes direct / recorded / replayed | top-level ATen ops per batch "
                 "|\n|---|---|---|---|---|\n";
    std::cout << absl::StrFormat(
        "| %.1f | %.2fx | %.1e | %d / %d / %d | %.0f |\n", replayed->graphs_per_s,
        best_device / best[2], replayed->largest_difference, replayed->stats.direct,
        replayed->stats.recorded, replayed->stats.replayed, replayed->top_level_per_batch);
    if (!replayed->stats.recording_failure.empty()) {
      std::cout << "recording failed, passes ran directly: " << replayed->stats.recording_failure
                << "\n";
    }
  }
  if (flags.Has("batches-out")) {
    GP_RETURN_IF_ERROR(WriteJsonFile(flags.Get("batches-out", ""),
                                     BatchesJson(flags, batches, graphs / best_host,
                                                 graphs / best_device, direct_ops, replayed)));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  return gp::RunSubcommand("feature_bench", "feature_bench --model DIR|CONFIG.json [flags]",
                           gp::kFlags, std::vector<std::string>(argv + 1, argv + argc), std::cout,
                           gp::Run);
}
