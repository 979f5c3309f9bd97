// The extractor: request validation, the model cache, cross-request batching, streaming.
#include "services/extractor/extractor_service.h"

#include <ATen/ATen.h>
#include <c10/util/Logging.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/model/config.h"
#include "common/rpc/metrics.h"
#include "common/rpc/status.h"
#include "common/rpc/tensor_wire.h"
#include "services/extractor/extract_request.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
using graphprobe::v1::ExtractResponse;

// How often a request waiting for its forward passes looks whether its client is still there.
constexpr auto kCancelPoll = std::chrono::milliseconds(50);

grpc::Status Error(grpc::StatusCode code, const std::string& message) {
  return grpc::Status(code, message);
}

// The forward passes `prepared` needs: indices of the prompts that mention something, at most
// `max_batch` per piece, in prompt order (a prompt that mentions nothing needs none).
std::vector<std::vector<size_t>> ForwardPieces(const std::vector<PreparedPrompt>& prepared,
                                               int max_batch) {
  std::vector<std::vector<size_t>> pieces;
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (prepared[i].positions.empty()) continue;
    if (pieces.empty() || static_cast<int>(pieces.back().size()) == max_batch)
      pieces.emplace_back();
    pieces.back().push_back(i);
  }
  return pieces;
}

}  // namespace

// docs/METRICS.md describes each.
struct ExtractorService::Metrics {
  prometheus::Counter& sequences =
      ProcessCounter("graphprobe_extractor_sequences_total", "Prompts run through a forward pass");
  prometheus::Counter& tokens = ProcessCounter("graphprobe_extractor_tokens_total",
                                               "Tokens of the prompts run through a forward pass");
  prometheus::Counter& replayed_passes =
      ProcessCounter("graphprobe_extractor_replayed_passes_total",
                     "Forward passes replayed from a recording (--cuda-graphs)");
  prometheus::Counter& withdrawn_prompts = ProcessCounter(
      "graphprobe_extractor_withdrawn_prompts_total",
      "Prompts taken out of the queue before their forward pass: their request had ended");
  prometheus::Histogram& request_seconds =
      ProcessHistogram("graphprobe_extractor_request_duration_seconds",
                       "Extract calls from arrival to the last row sent",
                       {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
  prometheus::Histogram& batch_size =
      ProcessHistogram("graphprobe_extractor_batch_size", "Prompts per forward pass",
                       {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
  prometheus::Histogram& load_seconds = ProcessHistogram(
      "graphprobe_extractor_model_load_seconds", "Time to load (or randomly initialize) a model",
      {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300});
  std::unique_ptr<ScrapeHook> state;
};

ExtractorService::ExtractorService(ExtractorOptions options)
    : options_(std::move(options)),
      cache_(static_cast<size_t>(std::max(1, options_.cached_models))),
      metrics_(std::make_unique<Metrics>()) {
  std::error_code error;
  root_ = fs::weakly_canonical(options_.model_root, error).string();
  metrics_->state = std::make_unique<ScrapeHook>([this] {
    double queued;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queued = queued_prompts_;
    }
    return std::vector<prometheus::MetricFamily>{
        GaugeFamily("graphprobe_extractor_queue_depth", "Prompts waiting for a forward pass",
                    {{{}, queued}}),
        GaugeFamily("graphprobe_extractor_models_loaded", "Models held in memory",
                    {{{}, static_cast<double>(cache_.size())}})};
  });
  batcher_ = std::thread([this] { RunBatches(); });
}

ExtractorService::~ExtractorService() {
  metrics_->state.reset();  // no scrape reads this service once it starts going away
  Stop();
  batcher_.join();
}

void ExtractorService::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ExtractorService::ModelFor(
    const graphprobe::v1::ModelRef& ref, std::string* key) const {
  ModelRef model;
  GP_ASSIGN_OR_RETURN(model.path, ResolveModelPath(root_, ref.path()));
  model.random_init = ref.random_init();
  model.init_seed = ref.init_seed();
  model.dtype = ref.dtype().empty() ? options_.dtype : ref.dtype();
  model.device = options_.device;
  if (model.dtype != "float32" && model.dtype != "bfloat16") {
    return absl::InvalidArgumentError(
        absl::StrCat("model.dtype '", model.dtype, "': expected float32 or bfloat16"));
  }
  *key = model.Key();
  const int64_t loads = cache_.loads();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::shared_ptr<const LoadedModel>> loaded = cache_.Get(model);
  if (cache_.loads() > loads) {
    metrics_->load_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return loaded;
}

absl::Status ExtractorService::WarmUp(const std::vector<std::string>& model_paths) {
  for (const std::string& path : model_paths) {
    graphprobe::v1::ModelRef ref;
    ref.set_path(path);
    std::string key;
    GP_RETURN_IF_ERROR(ModelFor(ref, &key).status());
    LOG(INFO) << "event=model_loaded path=" << path;
  }
  return absl::OkStatus();
}

grpc::Status ExtractorService::ListModels(grpc::ServerContext*,
                                          const graphprobe::v1::ListModelsRequest*,
                                          graphprobe::v1::ListModelsResponse* response) {
  std::error_code error;
  std::vector<std::string> found;
  for (auto it = fs::recursive_directory_iterator(root_, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it.depth() > 3) it.disable_recursion_pending();
    if (it->is_regular_file() && it->path().filename() == "config.json") {
      found.push_back(fs::relative(it->path().parent_path(), root_).string());
    }
  }
  std::sort(found.begin(), found.end());
  for (const std::string& path : found) {
    absl::StatusOr<ModelConfig> config = LoadModelConfig((fs::path(root_) / path).string());
    if (!config.ok()) continue;  // not a model we can run
    auto* model = response->add_models();
    model->set_path(path);
    model->set_model_type(config->model_type);
    model->set_layers(static_cast<int32_t>(config->num_layers));
    model->set_heads(static_cast<int32_t>(config->num_heads));
  }
  return grpc::Status::OK;
}

grpc::Status ExtractorService::Tokenize(grpc::ServerContext*,
                                        const graphprobe::v1::TokenizeRequest* request,
                                        graphprobe::v1::TokenizeResponse* response) {
  std::string key;
  absl::StatusOr<std::shared_ptr<const LoadedModel>> model = ModelFor(request->model(), &key);
  if (!model.ok()) return ToGrpcStatus(model.status());
  if (static_cast<int64_t>(request->text().size()) > 16 * options_.max_tokens) {
    return Error(grpc::StatusCode::RESOURCE_EXHAUSTED,
                 absl::StrCat("text: ", request->text().size(), " bytes, over the limit of ",
                              16 * options_.max_tokens));
  }
  absl::StatusOr<Encoding> encoding =
      (*model)->tokenizer.Encode(request->text(), request->add_special_tokens());
  if (!encoding.ok()) return ToGrpcStatus(Annotate(encoding.status(), "text"));
  for (size_t i = 0; i < encoding->ids.size(); ++i) {
    response->add_ids(encoding->ids[i]);
    response->add_tokens(encoding->tokens[i]);
    auto* span = response->add_offsets();
    span->set_begin(encoding->offsets[i].first);
    span->set_end(encoding->offsets[i].second);
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::future<absl::StatusOr<std::vector<CapturedAttention>>>>
ExtractorService::Submit(std::shared_ptr<Work> work) {
  auto future = work->done.get_future();
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return absl::UnavailableError("the extractor is shutting down");
  const int n = static_cast<int>(work->prompts.size());
  if (queued_prompts_ + n > options_.max_queued_prompts) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the extractor's queue is full (", queued_prompts_, " prompts waiting); retry later"));
  }
  queued_prompts_ += n;
  queue_.push_back(std::move(work));
  wake_.notify_all();
  return future;
}

void ExtractorService::Withdraw(const std::vector<std::shared_ptr<Work>>& works) {
  std::unordered_set<const Work*> ended;
  for (const auto& work : works) ended.insert(work.get());
  int withdrawn = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto first = std::stable_partition(queue_.begin(), queue_.end(), [&](const auto& work) {
      return ended.count(work.get()) == 0;
    });
    for (auto it = first; it != queue_.end(); ++it) {
      withdrawn += static_cast<int>((*it)->prompts.size());
      (*it)->done.set_value(absl::CancelledError("withdrawn: its request had ended"));
    }
    queue_.erase(first, queue_.end());
    queued_prompts_ -= withdrawn;
  }
  withdrawn_prompts_ += withdrawn;
  metrics_->withdrawn_prompts.Increment(withdrawn);
}

absl::StatusOr<at::Tensor> ExtractorService::ForwardPass(
    const std::string& key, const LoadedModel& model, const std::vector<PreparedPrompt>& prompts) {
  absl::StatusOr<at::Tensor> rows = absl::UnknownError("unset");
  if (options_.cuda_graphs) {
    LoadedModel::Replaying& replaying = *model.replaying;
    std::lock_guard<std::mutex> lock(replaying.mutex);
    if (replaying.replayer == nullptr) {
      replaying.replayer =
          std::make_unique<RowsReplayer>(&model.model, MakeRecorder(model.model.options().device));
    }
    const ReplayStats before = replaying.replayer->stats();
    rows = ForwardCapturingRows(model.model, prompts, replaying.replayer.get());
    const ReplayStats& after = replaying.replayer->stats();
    replayed_passes_ += after.replayed - before.replayed;
    metrics_->replayed_passes.Increment(static_cast<double>(after.replayed - before.replayed));
    if (before.recording_failure.empty() && !after.recording_failure.empty()) {
      LOG(WARNING) << "event=recording_failed model=" << key
                   << " (passes of this model now run directly): " << after.recording_failure;
    }
  } else {
    rows = ForwardCapturingRows(model.model, prompts);
  }
  ++forward_passes_;
  metrics_->batch_size.Observe(static_cast<double>(prompts.size()));
  if (rows.ok()) {
    metrics_->sequences.Increment(static_cast<double>(prompts.size()));
    double tokens = 0;
    for (const PreparedPrompt& p : prompts) tokens += static_cast<double>(p.ids.size());
    metrics_->tokens.Increment(tokens);
  }
  return rows;
}

void ExtractorService::RunBatches() {
  // The pass whose results may still be on their way to the host (PendingAttention): finished
  // after the next pass is queued, or as soon as no work waits (never held back for new work).
  struct Started {
    std::shared_ptr<Work> work;
    absl::StatusOr<PendingAttention> result;
  };
  std::vector<Started> in_flight;
  const auto finish_in_flight = [&] {
    for (Started& s : in_flight) {
      if (s.result.ok()) {
        s.work->done.set_value(s.result->Finish());
      } else {
        s.work->done.set_value(s.result.status());
      }
    }
    in_flight.clear();
  };
  for (;;) {
    std::vector<std::shared_ptr<Work>> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!in_flight.empty() && (stopping_ || queue_.empty())) {
        lock.unlock();
        finish_in_flight();
        lock.lock();
      }
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        for (auto& work : queue_) {
          work->done.set_value(absl::UnavailableError("the extractor is shutting down"));
        }
        queue_.clear();
        lock.unlock();
        finish_in_flight();  // computed already: delivered, not dropped
        return;
      }
      // The first waiting model's prompts, and more of the same model for up to max_wait_ms
      // until a forward pass is full (with a pass in flight: only what waits already).
      const std::string key = queue_.front()->model_key;
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.max_wait_ms);
      int prompts = 0;
      for (;;) {
        for (auto it = queue_.begin(); it != queue_.end() && prompts < options_.max_batch;) {
          const int n = static_cast<int>((*it)->prompts.size());
          if ((*it)->model_key == key && (prompts == 0 || prompts + n <= options_.max_batch)) {
            prompts += n;
            queued_prompts_ -= n;
            batch.push_back(*it);
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
        if (prompts >= options_.max_batch || stopping_ || !in_flight.empty()) break;
        // Wait for new work until the deadline. Work already waiting that does not fit stays for
        // the next pass: waiting for "the queue is not empty" would spin on it forever.
        const size_t waiting = queue_.size();
        if (!wake_.wait_until(lock, deadline,
                              [&] { return stopping_ || queue_.size() > waiting; })) {
          break;
        }
      }
    }
    std::vector<PreparedPrompt> prompts;
    for (const auto& work : batch) {
      prompts.insert(prompts.end(), work->prompts.begin(), work->prompts.end());
    }
    const LoadedModel& model = *batch[0]->model;
    absl::StatusOr<at::Tensor> rows = ForwardPass(batch[0]->model_key, model, prompts);
    // Each request's slice of the pass, pooled into its own modes where the pass ran; every
    // request's copies are queued before the first is waited for.
    std::vector<Started> started;
    int64_t next = 0;
    for (auto& work : batch) {
      if (!rows.ok()) {
        started.push_back({std::move(work), rows.status()});
        continue;
      }
      const int64_t n = static_cast<int64_t>(work->prompts.size());
      absl::StatusOr<PendingAttention> result =
          PendingAttention::Start(rows->narrow(1, next, n), work->prompts, work->pool);
      started.push_back({std::move(work), std::move(result)});
      next += n;
    }
    finish_in_flight();  // the pass before this one, now that this one is queued
    in_flight = std::move(started);
    // A failed pass has nothing in flight: its requests hear at once.
    if (!rows.ok() || !options_.queue_ahead.value_or(model.model.options().device.is_cuda())) {
      finish_in_flight();
    }
  }
}

grpc::Status ExtractorService::Extract(grpc::ServerContext* context,
                                       const graphprobe::v1::ExtractRequest* request,
                                       grpc::ServerWriter<ExtractResponse>* writer) {
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status status = ExtractPrompts(context, request, writer);
  metrics_->request_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return status;
}

absl::Status ExtractorService::CheckLimits(size_t index, const PreparedPrompt& prompt) const {
  if (static_cast<int>(prompt.ids.size()) > options_.max_tokens) {
    return absl::ResourceExhaustedError(absl::StrCat("prompts[", index, "]: ", prompt.ids.size(),
                                                     " tokens, over the limit of ",
                                                     options_.max_tokens));
  }
  if (static_cast<int>(prompt.positions.size()) > options_.max_positions) {
    return absl::ResourceExhaustedError(
        absl::StrCat("prompts[", index, "]: ", prompt.positions.size(),
                     " positions to capture, over the limit of ", options_.max_positions));
  }
  return absl::OkStatus();
}

absl::Status ExtractorService::RunInOrder(
    const std::string& key, const std::shared_ptr<const LoadedModel>& model,
    const std::vector<PreparedPrompt>& prepared, const std::vector<FeatureOptions>& pool,
    const std::function<bool()>& cancelled,
    const std::function<absl::Status(size_t, CapturedAttention)>& deliver) {
  std::vector<std::shared_ptr<Work>> works;
  std::vector<
      std::pair<std::vector<size_t>, std::future<absl::StatusOr<std::vector<CapturedAttention>>>>>
      pending;
  // However this request ends early (a full queue, a failed pass, a client gone), the rest of
  // its pieces leave the queue: a cancelled request of 1024 prompts must not keep the GPU busy.
  const auto withdrawing = [&](absl::Status status) {
    if (!status.ok()) Withdraw(works);
    return status;
  };
  for (std::vector<size_t>& piece : ForwardPieces(prepared, options_.max_batch)) {
    auto work = std::make_shared<Work>();
    work->model_key = key;
    work->model = model;
    work->pool = pool;
    for (size_t i : piece) work->prompts.push_back(prepared[i]);
    auto future = Submit(work);
    if (!future.ok()) return withdrawing(future.status());
    works.push_back(std::move(work));
    pending.push_back({std::move(piece), *std::move(future)});
  }

  std::vector<CapturedAttention> results(prepared.size());
  std::vector<bool> ready(prepared.size(), false);
  for (size_t i = 0; i < prepared.size(); ++i) ready[i] = prepared[i].positions.empty();
  size_t delivered = 0;
  const auto deliver_ready = [&]() -> absl::Status {
    while (delivered < prepared.size() && ready[delivered]) {
      GP_RETURN_IF_ERROR(deliver(delivered, std::move(results[delivered])));
      results[delivered] = CapturedAttention();
      ++delivered;
    }
    return absl::OkStatus();
  };
  const auto deliver_all = [&]() -> absl::Status {
    GP_RETURN_IF_ERROR(deliver_ready());  // leading prompts without mentions
    for (auto& [piece, future] : pending) {
      while (future.wait_for(kCancelPoll) != std::future_status::ready) {
        if (cancelled()) return absl::CancelledError("the client went away or the deadline passed");
      }
      GP_ASSIGN_OR_RETURN(std::vector<CapturedAttention> result, future.get());
      for (size_t k = 0; k < piece.size(); ++k) {
        results[piece[k]] = std::move(result[k]);
        ready[piece[k]] = true;
      }
      GP_RETURN_IF_ERROR(deliver_ready());
    }
    return absl::OkStatus();
  };
  return withdrawing(deliver_all());
}

grpc::Status ExtractorService::ExtractPrompts(grpc::ServerContext* context,
                                              const graphprobe::v1::ExtractRequest* request,
                                              grpc::ServerWriter<ExtractResponse>* writer) {
  absl::StatusOr<ExtractReply> reply = CheckExtractRequest(*request, options_.max_prompts);
  if (!reply.ok()) return ToGrpcStatus(reply.status());
  std::string key;
  absl::StatusOr<std::shared_ptr<const LoadedModel>> model = ModelFor(request->model(), &key);
  if (!model.ok()) return ToGrpcStatus(model.status());
  const ModelConfig& config = (*model)->model.config();

  // Tokenize and map every prompt first: a bad prompt fails the request before any work.
  std::vector<PreparedPrompt> prepared;
  for (int i = 0; i < request->prompts_size(); ++i) {
    absl::StatusOr<PreparedPrompt> ready = PrepareRequestPrompt(
        request->prompts(i), (*model)->tokenizer, (*model)->model.config().vocab_size);
    if (!ready.ok()) {
      return ToGrpcStatus(Annotate(ready.status(), absl::StrCat("prompts[", i, "]")));
    }
    const absl::Status limits = CheckLimits(i, *ready);
    if (!limits.ok()) return ToGrpcStatus(limits);
    prepared.push_back(*std::move(ready));
  }

  // Sends one prompt: its tokens, then its rows in chunks, or each pooled mode's features.
  const auto send = [&](size_t index, CapturedAttention attention) -> absl::Status {
    if (context->IsCancelled()) {
      return absl::CancelledError("the client went away or the deadline passed");
    }
    const PreparedPrompt& p = prepared[index];
    ExtractResponse header;
    header.set_prompt_index(static_cast<uint32_t>(index));
    auto* tokens = header.mutable_tokens();
    for (int32_t id : p.ids) tokens->add_ids(id);
    for (int position : p.positions) tokens->add_positions(position);
    for (const auto& node : p.mentions) {
      auto* n = tokens->add_nodes();
      for (const auto& mention : node) {
        auto* m = n->add_mentions();
        for (int t : mention) m->add_tokens(t);
      }
    }
    tokens->set_layers(static_cast<int32_t>(config.num_layers));
    tokens->set_heads(static_cast<int32_t>(config.num_heads));
    const absl::Status gone = absl::CancelledError("the client went away or the deadline passed");
    if (!writer->Write(header)) return gone;
    const auto send_tensor = [&](const std::string& name, const at::Tensor& data, bool features) {
      return SendTensorChunks(
          name, data, reply->wire, kMaxChunkBytes, [&](graphprobe::v1::TensorChunk chunk) {
            ExtractResponse part;
            part.set_prompt_index(static_cast<uint32_t>(index));
            *(features ? part.mutable_features() : part.mutable_rows()) = std::move(chunk);
            return writer->Write(part) ? absl::OkStatus() : gone;
          });
    };
    if (reply->pool.empty()) {
      const at::Tensor data = attention.rows.defined()
                                  ? attention.rows
                                  : at::zeros({config.num_layers, config.num_heads, 0,
                                               static_cast<int64_t>(p.ids.size())});
      return send_tensor("rows", data, /*features=*/false);
    }
    for (size_t k = 0; k < reply->pool.size(); ++k) {
      const int64_t n = static_cast<int64_t>(p.mentions.size());
      const at::Tensor data =
          k < attention.features.size()
              ? attention.features[k]
              : at::zeros(
                    {n, n, config.num_layers * config.num_heads * reply->pool[k].directions()});
      GP_RETURN_IF_ERROR(send_tensor(request->pool(static_cast<int>(k)), data, /*features=*/true));
    }
    return absl::OkStatus();
  };
  return ToGrpcStatus(RunInOrder(
      key, *model, prepared, reply->pool, [context] { return context->IsCancelled(); }, send));
}

absl::StatusOr<std::vector<CapturedPrompt>> ExtractorService::CaptureInProcess(
    const graphprobe::v1::ModelRef& model_ref, const std::vector<CapturePrompt>& prompts,
    const std::vector<FeatureOptions>& pool, const std::atomic<bool>* cancel) {
  const auto start = std::chrono::steady_clock::now();
  std::string key;
  GP_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> model, ModelFor(model_ref, &key));
  std::vector<CapturedPrompt> out(prompts.size());
  std::vector<PreparedPrompt> prepared;
  for (size_t i = 0; i < prompts.size(); ++i) {
    absl::StatusOr<PreparedPrompt> ready = PreparePrompt(model->tokenizer, prompts[i]);
    if (!ready.ok()) return Annotate(ready.status(), absl::StrCat("prompts[", i, "]"));
    GP_RETURN_IF_ERROR(CheckLimits(i, *ready));
    prepared.push_back(*std::move(ready));
  }
  // The forward passes run here, not on the batcher: an embedded extractor has this one client,
  // which gains nothing from waiting for other requests, and its rows are pooled on the same
  // thread (and the same OpenMP team) that computed them.
  const auto run = [&]() -> absl::Status {
    const auto refused = [&]() -> absl::Status {
      if (cancel != nullptr && cancel->load()) return absl::CancelledError("cancelled");
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return absl::UnavailableError("the extractor is shutting down");
      return absl::OkStatus();
    };
    if (!prepared.empty()) GP_RETURN_IF_ERROR(refused());
    // Each pass is started before the one before it is finished.
    CapturePipeline pipeline(
        [&](const std::vector<size_t>& piece, std::vector<CapturedAttention> attention) {
          for (size_t k = 0; k < piece.size(); ++k) {
            out[piece[k]].attention = std::move(attention[k]);
          }
        });
    for (std::vector<size_t>& piece : ForwardPieces(prepared, options_.max_batch)) {
      GP_RETURN_IF_ERROR(refused());
      std::vector<PreparedPrompt> batch;
      for (size_t i : piece) batch.push_back(prepared[i]);
      GP_ASSIGN_OR_RETURN(at::Tensor rows, ForwardPass(key, *model, batch));
      GP_ASSIGN_OR_RETURN(PendingAttention started, PendingAttention::Start(rows, batch, pool));
      pipeline.Add(std::move(started), std::move(piece));
    }
    pipeline.Flush();
    for (size_t i = 0; i < prepared.size(); ++i) out[i].prompt = std::move(prepared[i]);
    return absl::OkStatus();
  };
  const absl::Status status = run();
  metrics_->request_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<SourceShape> ExtractorService::ShapeOf(const graphprobe::v1::ModelRef& model_ref) {
  std::string key;
  GP_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> model, ModelFor(model_ref, &key));
  return SourceShape{model->model.config().num_layers, model->model.config().num_heads};
}

}  // namespace gp
