// The extractor service: models under --model-root, run on the prompts of many concurrent
// requests batched together (up to max_batch prompts per forward pass, waiting at most
// max_wait_ms for more), the node tokens' attention rows, or the node-pair features a request
// asks to pool them into (pooled on the extractor's device), streamed back per prompt in
// chunks.
//
//   ExtractorOptions options;
//   options.model_root = "/models";
//   ExtractorService service(options);
//   GP_RETURN_IF_ERROR(service.WarmUp({}));   // then report SERVING
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/attention_source.h"
#include "graphprobe/v1/extractor.grpc.pb.h"

namespace gp {

struct ExtractorOptions {
  std::string model_root;         // every model path of a request resolves under it
  std::string device = "cpu";     // where the models run
  std::string dtype = "float32";  // when a request names none
  int max_batch = 64;             // prompts per forward pass, across requests
  int max_wait_ms = 5;            // how long a forward pass waits to fill up
  int cached_models = 2;          // models kept loaded
  int max_queued_prompts = 4096;  // beyond: RESOURCE_EXHAUSTED (backpressure)
  // Whether a pass's results are delivered only once the next pass (of work already waiting)
  // is queued behind it. On a GPU the host then queues the next pass while this one runs; on a
  // CPU the pass is done when it returns and holding it back only delays it. Unset: on CUDA.
  std::optional<bool> queue_ahead;
  // Whether forward passes are padded to shapes that repeat and replayed from CUDA graphs
  // where they do (RowsReplayer; on a CPU the same padded passes, rerun). Off until measured
  // faster on a GPU (docs/PERFORMANCE.md).
  bool cuda_graphs = false;
  // Documented request limits (RESOURCE_EXHAUSTED beyond them).
  int max_prompts = 1024;
  int max_tokens = 8192;
  int max_positions = 1024;
};

class ExtractorService final : public graphprobe::v1::Extractor::Service {
 public:
  explicit ExtractorService(ExtractorOptions options);
  ~ExtractorService() override;

  // Loads the models named (paths relative to the root) so the first requests do not wait.
  absl::Status WarmUp(const std::vector<std::string>& model_paths);
  // Stops taking work: queued and later requests fail with UNAVAILABLE (for a drain).
  void Stop();

  grpc::Status ListModels(grpc::ServerContext* context,
                          const graphprobe::v1::ListModelsRequest* request,
                          graphprobe::v1::ListModelsResponse* response) override;
  grpc::Status Tokenize(grpc::ServerContext* context,
                        const graphprobe::v1::TokenizeRequest* request,
                        graphprobe::v1::TokenizeResponse* response) override;
  grpc::Status Extract(grpc::ServerContext* context, const graphprobe::v1::ExtractRequest* request,
                       grpc::ServerWriter<graphprobe::v1::ExtractResponse>* writer) override;

  // Extract for a caller in this process (the embedded cluster's feature service): the same
  // model resolution, limits and metrics, the forward passes (at most max_batch prompts each)
  // on the calling thread and the rows (or the features of `pool`) handed over in memory
  // rather than serialized. Results in the order of `prompts`; a set `cancel` stops the work
  // between forward passes (Cancelled), a stopped service refuses it (Unavailable).
  absl::StatusOr<std::vector<CapturedPrompt>> CaptureInProcess(
      const graphprobe::v1::ModelRef& model, const std::vector<CapturePrompt>& prompts,
      const std::vector<FeatureOptions>& pool, const std::atomic<bool>* cancel);
  // Layers and heads of a model under the root (loading it).
  absl::StatusOr<SourceShape> ShapeOf(const graphprobe::v1::ModelRef& model);

  int64_t forward_passes() const { return forward_passes_; }
  // Of those, the passes replayed from a recording (ExtractorOptions::cuda_graphs).
  int64_t replayed_passes() const { return replayed_passes_; }
  // Prompts withdrawn from the queue before their forward pass, their request having ended.
  int64_t withdrawn_prompts() const { return withdrawn_prompts_; }

 private:
  // Prompts of one request for one model, waiting for their forward pass; works of several
  // requests share a pass, each pooled into its own modes.
  struct Work {
    std::string model_key;
    std::shared_ptr<const LoadedModel> model;
    std::vector<PreparedPrompt> prompts;
    std::vector<FeatureOptions> pool;
    std::promise<absl::StatusOr<std::vector<CapturedAttention>>> done;
  };
  absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelFor(const graphprobe::v1::ModelRef& ref,
                                                              std::string* key) const;
  absl::StatusOr<std::future<absl::StatusOr<std::vector<CapturedAttention>>>> Submit(
      std::shared_ptr<Work> work);
  // Takes the works still waiting in the queue out of it (their request has ended: nobody
  // waits for their results), so that they cost no forward pass and free their queue places.
  void Withdraw(const std::vector<std::shared_ptr<Work>>& works);
  void RunBatches();  // the batching thread
  // ForwardCapturingRows on `prompts` with the forward-pass metrics recorded: the batch's rows
  // [L, B, H, K, T], still on the model's device.
  absl::StatusOr<at::Tensor> ForwardPass(const std::string& key, const LoadedModel& model,
                                         const std::vector<PreparedPrompt>& prompts);
  // The request limits on one prepared prompt (RESOURCE_EXHAUSTED beyond them).
  absl::Status CheckLimits(size_t index, const PreparedPrompt& prompt) const;
  // Runs `prepared` through the batcher in pieces of at most max_batch prompts, so other
  // requests interleave, and hands each prompt's rows (or features of `pool`) to `deliver` in
  // prompt order as the forward passes finish; prompts that mention nothing need no forward
  // pass (empty attention). Stops at the first error of a forward pass or of `deliver`, or
  // when `cancelled` says so while it waits (Cancelled); either way the pieces not yet in a
  // forward pass are withdrawn.
  absl::Status RunInOrder(const std::string& key, const std::shared_ptr<const LoadedModel>& model,
                          const std::vector<PreparedPrompt>& prepared,
                          const std::vector<FeatureOptions>& pool,
                          const std::function<bool()>& cancelled,
                          const std::function<absl::Status(size_t, CapturedAttention)>& deliver);
  grpc::Status ExtractPrompts(grpc::ServerContext* context,
                              const graphprobe::v1::ExtractRequest* request,
                              grpc::ServerWriter<graphprobe::v1::ExtractResponse>* writer);
  struct Metrics;

  ExtractorOptions options_;
  std::string root_;  // canonical model root
  mutable ModelCache cache_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Work>> queue_;
  int queued_prompts_ = 0;
  bool stopping_ = false;
  std::atomic<int64_t> forward_passes_{0};
  std::atomic<int64_t> replayed_passes_{0};
  std::atomic<int64_t> withdrawn_prompts_{0};
  std::thread batcher_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace gp
