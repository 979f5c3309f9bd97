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
  auto loaded =
      std::make_shared<const LoadedModel>(LoadedModel{*std::move(model), std::move(tokenizer)});
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
                                                const std::vector<PreparedPrompt>& prompts) {
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

absl::StatusOr<std::vector<CapturedAttention>> AttentionFromRows(
    const at::Tensor& rows, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool) {
  c10::InferenceMode inference;
  if (rows.dim() != 5 || rows.size(1) != static_cast<int64_t>(prompts.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "attention rows of shape ", c10::str(rows.sizes()), " for ", prompts.size(), " prompts"));
  }
  std::vector<CapturedAttention> out(prompts.size());
  if (pool.empty()) {
    const at::Tensor host = rows.to(at::kCPU);  // [L, B, H, K, T]
    for (size_t i = 0; i < prompts.size(); ++i) {
      out[i].rows = host.select(1, static_cast<int64_t>(i))
                        .narrow(2, 0, static_cast<int64_t>(prompts[i].positions.size()))
                        .narrow(3, 0, static_cast<int64_t>(prompts[i].ids.size()))
                        .to(at::kFloat)
                        .contiguous();
    }
    return out;
  }
  const MentionedNodes mentioned = MentionedNodesOf(prompts);
  for (const FeatureOptions& options : pool) {
    GP_ASSIGN_OR_RETURN(at::Tensor pooled, BatchPairFeatures(rows, mentioned.row_of_token,
                                                             mentioned.mentions, options));
    const at::Tensor host = pooled.to(at::kCPU);  // [B, M, M, F], M the most mentioned nodes
    for (size_t i = 0; i < prompts.size(); ++i) {
      const std::vector<int>& nodes = mentioned.nodes[i];
      const int64_t n = static_cast<int64_t>(prompts[i].mentions.size());
      const int64_t m = static_cast<int64_t>(nodes.size());
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

absl::StatusOr<std::vector<CapturedAttention>> CaptureAttention(
    const DecoderModel& model, const std::vector<PreparedPrompt>& prompts,
    const std::vector<FeatureOptions>& pool) {
  GP_ASSIGN_OR_RETURN(at::Tensor rows, ForwardCapturingRows(model, prompts));
  return AttentionFromRows(rows, prompts, pool);
}

absl::StatusOr<std::vector<at::Tensor>> CaptureRows(const DecoderModel& model,
                                                    const std::vector<PreparedPrompt>& prompts) {
  GP_ASSIGN_OR_RETURN(std::vector<CapturedAttention> captured,
                      CaptureAttention(model, prompts, {}));
  std::vector<at::Tensor> rows;
  for (CapturedAttention& c : captured) rows.push_back(std::move(c.rows));
  return rows;
}

absl::StatusOr<at::Tensor> CaptureFeatures(const DecoderModel& model,
                                           const std::vector<PreparedPrompt>& prompts,
                                           const FeatureOptions& options) {
  GP_ASSIGN_OR_RETURN(PendingHostCopy pending, StartCaptureFeatures(model, prompts, options));
  return pending.Wait();
}

absl::StatusOr<PendingHostCopy> StartCaptureFeatures(const DecoderModel& model,
                                                     const std::vector<PreparedPrompt>& prompts,
                                                     const FeatureOptions& options) {
  c10::InferenceMode inference;
  const MentionedNodes mentioned = MentionedNodesOf(prompts);
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (mentioned.nodes[i].size() != prompts[i].mentions.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompt ", i, ": a node without mentions (pool with AttentionFromRows)"));
    }
  }
  GP_ASSIGN_OR_RETURN(at::Tensor rows, ForwardCapturingRows(model, prompts));
  GP_ASSIGN_OR_RETURN(at::Tensor features,
                      BatchPairFeatures(rows, mentioned.row_of_token, mentioned.mentions, options));
  return PendingHostCopy::Start(features);
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
  // Batches of similar lengths pad less (rows of valid positions do not depend on padding).
  std::vector<PreparedPrompt> batch;
  for (const std::vector<size_t>& indices :
       BatchesByLength(lengths, static_cast<size_t>(batch_size_))) {
    if (cancel != nullptr && cancel->load()) return absl::CancelledError("cancelled");
    batch.clear();
    for (size_t i : indices) batch.push_back(out[i].prompt);
    GP_ASSIGN_OR_RETURN(std::vector<CapturedAttention> captured,
                        CaptureAttention(model_->model, batch, pool));
    for (size_t j = 0; j < indices.size(); ++j) out[indices[j]].attention = std::move(captured[j]);
  }
  return out;
}

}  // namespace gp
