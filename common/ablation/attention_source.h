// Where a dataset's attention comes from. A source takes prompts (text plus every node's
// mentions as byte spans), tokenizes them with its model's tokenizer, maps the mentions to
// tokens and returns, for each prompt, either its captured attention rows (the node tokens'
// rows over every key, [layers, heads, K, T]) or, when asked to pool, its node-pair features
// in each requested mode, pooled where the forward pass ran so only [N, N, F] per mode leaves
// the model's device (and, for a remote source, crosses the network). The local source runs a
// DecoderModel in this process; a remote one (common/rpc) asks extractor services. Dataset
// building never knows which.
//
//   GP_ASSIGN_OR_RETURN(auto source, LocalAttentionSource::Create(model_ref, &cache, 32));
//   GP_ASSIGN_OR_RETURN(std::vector<CapturedPrompt> out,
//                       source->Capture(prompts, /*pool=*/{raw, topk}, &cancel));
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/host_copy.h"
#include "common/ablation/prepared_prompt.h"
#include "common/features/feature_options.h"
#include "common/model/decoder_model.h"
#include "common/model/rows_replayer.h"
#include "common/tokenizer/tokenizer.h"

namespace gp {

// A model as a request names it: a checkpoint directory (or its random-weight twin) and the
// numerics to run it in.
struct ModelRef {
  std::string path;
  bool random_init = false;
  uint64_t init_seed = 0;
  std::string dtype = "float32";
  std::string device = "cpu";

  std::string Key() const;  // identifies the loaded model
};

// What a capture gives for one prompt, on the host. Undefined rows and no features for a
// prompt that mentions no node (there is nothing to capture).
struct CapturedAttention {
  // Without pooling: float [layers, heads, K, T], the rows of prompt.positions over every key.
  at::Tensor rows;
  // With pooling: per requested FeatureOptions, float [N, N, F] over the prompt's N nodes
  // (PairFeatures' layout); pairs with a node the prompt never mentions are zero.
  std::vector<at::Tensor> features;
};

struct CapturedPrompt {
  PreparedPrompt prompt;
  CapturedAttention attention;
};

struct SourceShape {
  int64_t layers = 0, heads = 0;
};

class AttentionSource {
 public:
  virtual ~AttentionSource() = default;
  virtual SourceShape shape() const = 0;
  // Results in the order of `prompts`: rows when `pool` is empty, else the features of each
  // entry of `pool`. A set `cancel` stops the work between forward passes (Cancelled).
  virtual absl::StatusOr<std::vector<CapturedPrompt>> Capture(
      const std::vector<CapturePrompt>& prompts, const std::vector<FeatureOptions>& pool,
      const std::atomic<bool>* cancel) = 0;
};

// A loaded model and its tokenizer, shared read-only by every request that names it.
struct LoadedModel {
  DecoderModel model;
  Tokenizer tokenizer;
  // The model's passes padded and replayed (the extractor's cuda_graphs): the replayer is made
  // on first use and kept, and evicted, with the model. One pass at a time.
  struct Replaying {
    std::mutex mutex;
    std::unique_ptr<RowsReplayer> replayer;  // under `mutex`
  };
  std::unique_ptr<Replaying> replaying;
};

// Loaded models by ModelRef::Key, at most `capacity`, least recently used evicted (a model in
// use stays alive through its shared_ptr). Thread-safe; concurrent loads of one model load it
// once.
class ModelCache {
 public:
  explicit ModelCache(size_t capacity = 2) : capacity_(capacity) {}
  absl::StatusOr<std::shared_ptr<const LoadedModel>> Get(const ModelRef& ref);
  size_t size() const;
  int64_t loads() const { return loads_; }

 private:
  size_t capacity_;
  mutable std::mutex mutex_;
  std::mutex load_mutex_;  // one load at a time: no model is read twice concurrently
  std::list<std::pair<std::string, std::shared_ptr<const LoadedModel>>> entries_;  // MRU first
  std::atomic<int64_t> loads_{0};
};

// Runs prompts through a model of the cache in this process, `batch_size` per forward pass,
// capturing only the node tokens' rows (and pooling them where the model runs).
class LocalAttentionSource : public AttentionSource {
 public:
  static absl::StatusOr<std::unique_ptr<LocalAttentionSource>> Create(const ModelRef& ref,
                                                                      ModelCache* cache,
                                                                      int batch_size);
  SourceShape shape() const override;
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override;

 private:
  LocalAttentionSource(std::shared_ptr<const LoadedModel> model, int batch_size)
      : model_(std::move(model)), batch_size_(batch_size) {}
  std::shared_ptr<const LoadedModel> model_;
  int batch_size_;
};

// The forward pass of prepared prompts (each with capture positions) on one model, padded into
// one batch: rows [L, B, H, K, T] on the model's device, padded rows and keys zero. The
// extractor runs one for the prompts of several requests and splits the result. With a
// `replayer` (of this model), the pass runs through it: replayed where its shape repeats.
absl::StatusOr<at::Tensor> ForwardCapturingRows(const DecoderModel& model,
                                                const std::vector<PreparedPrompt>& prompts,
                                                RowsReplayer* replayer = nullptr);

// What each of `prompts` gets from `rows` (ForwardCapturingRows of exactly these prompts, or
// a slice of a larger batch along B), on its way to the host: its rows when `pool` is empty,
// else its features in each mode of `pool`, pooled on the rows' device in one pass per mode so
// only [B, M, M, F] is copied. Prompts may leave nodes unmentioned. Start queues the pooling
// and the copies (on a GPU: non-blocking, into pinned memory) and returns at once; Finish
// waits for them and splits them per prompt. Starting batch i+1 before finishing batch i lets
// the host queue the next forward pass while the GPU still runs this one.
class PendingAttention {
 public:
  static absl::StatusOr<PendingAttention> Start(const at::Tensor& rows,
                                                const std::vector<PreparedPrompt>& prompts,
                                                const std::vector<FeatureOptions>& pool);
  std::vector<CapturedAttention> Finish();

 private:
  struct PromptShape {
    int64_t nodes = 0, positions = 0, tokens = 0;
    std::vector<int> mentioned_nodes;  // ascending: the rows of its pooled features
  };
  std::vector<PromptShape> prompts_;
  PendingHostCopy rows_;                   // without pooling: [L, B, H, K, T]
  std::vector<PendingHostCopy> features_;  // per pooled mode: [B, M, M, F]
};

// Keeps one batch's capture in flight behind the next: Add finishes the batch added before
// (handing its results to `deliver`, with the indices it was added with) after the new one has
// been started; Flush finishes the last.
//
//   CapturePipeline pipeline([&](const std::vector<size_t>& indices, auto captured) {...});
//   for (batch ...) pipeline.Add(StartCapture(model, batch, pool) /* checked */, indices);
//   pipeline.Flush();
class CapturePipeline {
 public:
  using Deliver =
      std::function<void(const std::vector<size_t>& indices, std::vector<CapturedAttention>)>;
  explicit CapturePipeline(Deliver deliver) : deliver_(std::move(deliver)) {}
  void Add(PendingAttention started, std::vector<size_t> indices);
  void Flush();

 private:
  Deliver deliver_;
  std::optional<PendingAttention> in_flight_;
  std::vector<size_t> in_flight_indices_;
};

// PendingAttention::Start then Finish.
absl::StatusOr<std::vector<CapturedAttention>> AttentionFromRows(
    const at::Tensor& rows, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool);

// ForwardCapturingRows then PendingAttention::Start: one batch, one forward pass, in flight.
absl::StatusOr<PendingAttention> StartCapture(const DecoderModel& model,
                                              const std::vector<PreparedPrompt>& prompts,
                                              const std::vector<FeatureOptions>& pool,
                                              RowsReplayer* replayer = nullptr);

// StartCapture, finished.
absl::StatusOr<std::vector<CapturedAttention>> CaptureAttention(
    const DecoderModel& model, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool);

// Each prompt's rows [layers, heads, K, T] on the CPU: CaptureAttention without pooling.
absl::StatusOr<std::vector<at::Tensor>> CaptureRows(const DecoderModel& model,
                                                    const std::vector<PreparedPrompt>& prompts);

}  // namespace gp
