// The model cache and the in-process attention source.
#include "common/ablation/attention_source.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/features/pair_features.h"

namespace gp {

std::string ModelRef::Key() const {
  return absl::StrCat(path, "|", random_init ? absl::StrCat("random:", init_seed) : "weights", "|",
                      dtype, "|", device);
}

absl::StatusOr<std::shared_ptr<const LoadedModel>> ModelCache::Get(const ModelRef& ref) {
  const std::string key = ref.Key();
  const auto find = [&]() -> std::shared_ptr<const LoadedModel> {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == key) {
        entries_.splice(entries_.begin(), entries_, it);  // most recently used first
        return it->second;
      }
    }
    return nullptr;
  };
  if (auto hit = find()) return hit;
  std::lock_guard<std::mutex> loading(load_mutex_);
  if (auto hit = find()) return hit;  // loaded while we waited
  GP_ASSIGN_OR_RETURN(ModelOptions options, ParseModelOptions(ref.dtype, ref.device));
  GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromFile(ref.path + "/tokenizer.json"));
  absl::StatusOr<DecoderModel> model = absl::UnknownError("unset");
  if (ref.random_init) {
    GP_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(ref.path));
    model = DecoderModel::RandomInit(config, options, ref.init_seed);
  } else {
    model = DecoderModel::Load(ref.path, options);
  }
  GP_RETURN_IF_ERROR(model.status());
  auto loaded = std::make_shared<const LoadedModel>(LoadedModel{
      *std::move(model), std::move(tokenizer), std::make_unique<LoadedModel::Replaying>()});
  ++loads_;
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.emplace_front(key, loaded);
  while (entries_.size() > std::max<size_t>(capacity_, 1)) entries_.pop_back();
  return loaded;
}

size_t ModelCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

absl::StatusOr<at::Tensor> ForwardCapturingRows(const DecoderModel& model,
                                                const std::vector<PreparedPrompt>& prompts,
                                                RowsReplayer* replayer) {
  if (replayer != nullptr && &replayer->model() != &model) {
    return absl::InvalidArgumentError("the replayer runs another model");
  }
  c10::InferenceMode inference;
  size_t max_len = 0, max_k = 0;
  for (const PreparedPrompt& p : prompts) {
    if (p.positions.empty()) {
      return absl::InvalidArgumentError("a prompt without capture positions");
    }
    max_len = std::max(max_len, p.ids.size());
    max_k = std::max(max_k, p.positions.size());
  }
  const int64_t b = static_cast<int64_t>(prompts.size());
  at::Tensor ids = at::zeros({b, static_cast<int64_t>(max_len)}, at::kLong);
  at::Tensor mask = at::zeros_like(ids);
  at::Tensor positions = at::zeros({b, static_cast<int64_t>(max_k)}, at::kLong);
  auto id = ids.accessor<int64_t, 2>();
  auto m = mask.accessor<int64_t, 2>();
  auto pos = positions.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    for (size_t t = 0; t < prompts[i].ids.size(); ++t) {
      id[i][t] = prompts[i].ids[t];
      m[i][t] = 1;
    }
    for (size_t k = 0; k < prompts[i].positions.size(); ++k) pos[i][k] = prompts[i].positions[k];
  }
  if (replayer != nullptr) return replayer->Rows(ids, mask, positions);
  ForwardOptions forward;
  forward.capture = ForwardOptions::Capture::kPositionRows;
  forward.capture_positions = positions;
  GP_ASSIGN_OR_RETURN(ForwardOutput out, model.Forward(ids, mask, forward));
  return out.attention_rows;  // [L, B, H, K, T], one buffer
}

namespace {

// The nodes each prompt mentions (ascending) and their mentions: what BatchPairFeatures pools,
// since a node without mentions has no rows to read.
struct MentionedNodes {
  std::vector<std::vector<int>> nodes;                               // [prompt] -> node ids
  std::vector<std::vector<std::vector<std::vector<int>>>> mentions;  // [prompt][node][mention]
  std::vector<std::vector<int>> row_of_token;                        // [prompt][token] -> row
};

MentionedNodes MentionedNodesOf(const std::vector<PreparedPrompt>& prompts) {
  MentionedNodes out;
  for (const PreparedPrompt& p : prompts) {
    out.nodes.emplace_back();
    out.mentions.emplace_back();
    for (size_t node = 0; node < p.mentions.size(); ++node) {
      if (p.mentions[node].empty()) continue;
      out.nodes.back().push_back(static_cast<int>(node));
      out.mentions.back().push_back(p.mentions[node]);
    }
    out.row_of_token.push_back(RowOfToken(p.positions, p.ids.size()));
  }
  return out;
}

}  // namespace

absl::StatusOr<PendingAttention> PendingAttention::Start(const at::Tensor& rows,
                                                         const std::vector<PreparedPrompt>& prompts,
                                                         const std::vector<FeatureOptions>& pool) {
  c10::InferenceMode inference;
  if (rows.dim() != 5 || rows.size(1) != static_cast<int64_t>(prompts.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attention rows of shape ", c10::str(rows.sizes()), " for ", prompts.size(), " prompts"));
  }
  PendingAttention pending;
  for (const PreparedPrompt& p : prompts) {
    pending.prompts_.push_back({static_cast<int64_t>(p.mentions.size()),
                                static_cast<int64_t>(p.positions.size()),
                                static_cast<int64_t>(p.ids.size()),
                                {}});
  }
  if (pool.empty()) {
    pending.rows_ = PendingHostCopy::Start(rows);
    return pending;
  }
  // Which nodes each prompt mentions: only pooling needs them.
  MentionedNodes mentioned = MentionedNodesOf(prompts);
  for (size_t i = 0; i < prompts.size(); ++i) {
    pending.prompts_[i].mentioned_nodes = std::move(mentioned.nodes[i]);
  }
  for (const FeatureOptions& options : pool) {
    GP_ASSIGN_OR_RETURN(at::Tensor pooled, BatchPairFeatures(rows, mentioned.row_of_token,
                                                             mentioned.mentions, options));
    pending.features_.push_back(PendingHostCopy::Start(pooled));
  }
  return pending;
}

std::vector<CapturedAttention> PendingAttention::Finish() {
  c10::InferenceMode inference;
  std::vector<CapturedAttention> out(prompts_.size());
  if (rows_.started()) {
    const at::Tensor host = rows_.Wait();  // [L, B, H, K, T]
    for (size_t i = 0; i < prompts_.size(); ++i) {
      // A copy of its own: the batch's buffer may be pinned memory, too scarce to keep alive.
      out[i].rows = host.select(1, static_cast<int64_t>(i))
                        .narrow(2, 0, prompts_[i].positions)
                        .narrow(3, 0, prompts_[i].tokens)
                        .to(at::kFloat)
                        .clone(at::MemoryFormat::Contiguous);
    }
  }
  for (PendingHostCopy& copy : features_) {
    const at::Tensor host = copy.Wait();  // [B, M, M, F], M the most mentioned nodes
    for (size_t i = 0; i < prompts_.size(); ++i) {
      const std::vector<int>& nodes = prompts_[i].mentioned_nodes;
      const int64_t n = prompts_[i].nodes, m = static_cast<int64_t>(nodes.size());
      at::Tensor features = at::zeros({n, n, host.size(3)});
      if (m > 0) {
        const at::Tensor index =
            at::tensor(std::vector<int64_t>(nodes.begin(), nodes.end()), at::kLong);
        features.index_put_({index.unsqueeze(1), index.unsqueeze(0)},
                            host[static_cast<int64_t>(i)].narrow(0, 0, m).narrow(1, 0, m));
      }
      out[i].features.push_back(std::move(features));
    }
  }
  return out;
}

void CapturePipeline::Add(PendingAttention started, std::vector<size_t> indices) {
  Flush();
  in_flight_ = std::move(started);
  in_flight_indices_ = std::move(indices);
}

void CapturePipeline::Flush() {
  if (!in_flight_.has_value()) return;
  std::vector<CapturedAttention> captured = in_flight_->Finish();
  in_flight_.reset();
  deliver_(in_flight_indices_, std::move(captured));
}

absl::StatusOr<std::vector<CapturedAttention>> AttentionFromRows(
    const at::Tensor& rows, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool) {
  GP_ASSIGN_OR_RETURN(PendingAttention pending, PendingAttention::Start(rows, prompts, pool));
  return pending.Finish();
}

absl::StatusOr<PendingAttention> StartCapture(const DecoderModel& model,
                                              const std::vector<PreparedPrompt>& prompts,
                                              const std::vector<FeatureOptions>& pool,
                                              RowsReplayer* replayer) {
  GP_ASSIGN_OR_RETURN(at::Tensor rows, ForwardCapturingRows(model, prompts, replayer));
  return PendingAttention::Start(rows, prompts, pool);
}

absl::StatusOr<std::vector<CapturedAttention>> CaptureAttention(
    const DecoderModel& model, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool) {
  GP_ASSIGN_OR_RETURN(PendingAttention pending, StartCapture(model, prompts, pool));
  return pending.Finish();
}

absl::StatusOr<std::vector<at::Tensor>> CaptureRows(const DecoderModel& model,
                                                    const std::vector<PreparedPrompt>& prompts) {
  GP_ASSIGN_OR_RETURN(std::vector<CapturedAttention> captured,
                      CaptureAttention(model, prompts, {}));
  std::vector<at::Tensor> rows;
  for (CapturedAttention& c : captured) rows.push_back(std::move(c.rows));
  return rows;
}

absl::StatusOr<std::unique_ptr<LocalAttentionSource>> LocalAttentionSource::Create(
    const ModelRef& ref, ModelCache* cache, int batch_size) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size ", batch_size, ": must be >= 1"));
  }
  GP_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> model, cache->Get(ref));
  return std::unique_ptr<LocalAttentionSource>(
      new LocalAttentionSource(std::move(model), batch_size));
}

SourceShape LocalAttentionSource::shape() const {
  return {model_->model.config().num_layers, model_->model.config().num_heads};
}

absl::StatusOr<std::vector<CapturedPrompt>> LocalAttentionSource::Capture(
    const std::vector<CapturePrompt>& prompts, const std::vector<FeatureOptions>& pool,
    const std::atomic<bool>* cancel) {
  std::vector<CapturedPrompt> out(prompts.size());
  // A prompt that mentions no node has nothing to capture: its attention stays empty.
  std::vector<size_t> lengths(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    GP_ASSIGN_OR_RETURN(out[i].prompt, PreparePrompt(model_->tokenizer, prompts[i]));
    lengths[i] = out[i].prompt.positions.empty() ? 0 : out[i].prompt.ids.size();
  }
  // Batches of similar lengths pad less (rows of valid positions do not depend on padding);
  // each is started before the one before it is finished.
  CapturePipeline pipeline(
      [&](const std::vector<size_t>& indices, std::vector<CapturedAttention> captured) {
        for (size_t j = 0; j < indices.size(); ++j)
          out[indices[j]].attention = std::move(captured[j]);
      });
  std::vector<PreparedPrompt> batch;
  for (std::vector<size_t>& indices : BatchesByLength(lengths, static_cast<size_t>(batch_size_))) {
    if (cancel != nullptr && cancel->load()) return absl::CancelledError("cancelled");
    batch.clear();
    for (size_t i : indices) batch.push_back(out[i].prompt);
    GP_ASSIGN_OR_RETURN(PendingAttention started, StartCapture(model_->model, batch, pool));
    pipeline.Add(std::move(started), std::move(indices));
  }
  pipeline.Flush();
  return out;
}

}  // namespace gp
