// Checkpoint weights -> tensors of the model dtype on the model device, or random weights.
#include "common/model/weight_loader.h"

#include <ATen/ATen.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/status.h"
#include "common/model/family.h"
#include "common/model/host_tensor.h"
#include "common/model/random_fill.h"
#include "common/model/tensor_io.h"

namespace gp {

absl::Status ForEachWeight(const ModelConfig& config, ModelWeights* weights,
                           const WeightVisitor& visit) {
  const ModelFamily* family = FindModelFamily(config.model_type);
  if (family == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported model_type '", config.model_type, "'"));
  }
  const std::vector<int64_t> embedding_shape = {config.vocab_size, config.hidden_size};
  GP_RETURN_IF_ERROR(
      visit(kEmbedTokensName, embedding_shape, WeightInit::kNormal, &weights->embed_tokens));
  weights->layers.resize(config.num_layers);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    for (const auto* table : {&LayerNormNames(config), &ProjectionWeightNames()}) {
      for (const LayerWeightName& entry : *table) {
        if (entry.present_if != nullptr && !(config.*entry.present_if)) continue;
        GP_RETURN_IF_ERROR(visit(LayerWeightFullName(i, entry), ShapeOf(entry.shape, config),
                                 entry.init, &(weights->layers[i].*entry.slot)));
      }
    }
  }
  GP_RETURN_IF_ERROR(
      visit(kFinalNormName, {config.hidden_size}, WeightInit::kNorm, &weights->final_norm));
  if (config.tie_word_embeddings) {
    weights->lm_head = weights->embed_tokens;
    return absl::OkStatus();
  }
  return visit(kLmHeadName, embedding_shape, WeightInit::kNormal, &weights->lm_head);
}

absl::StatusOr<ModelWeights> LoadWeights(const SafetensorsCheckpoint& checkpoint,
                                         const ModelConfig& config, const ModelOptions& options) {
  ModelWeights weights;
  GP_RETURN_IF_ERROR(ForEachWeight(
      config, &weights,
      [&](const std::string& name, const std::vector<int64_t>& shape, WeightInit,
          at::Tensor* slot) -> absl::Status {
        auto view = checkpoint.Get(name);
        if (!view.ok()) {
          if (name == kLmHeadName) {
            return absl::InvalidArgumentError(
                absl::StrCat(checkpoint.dir(), ": missing weight '", name,
                             "' (config.json says tie_word_embeddings is false, so the checkpoint "
                             "must have it)"));
          }
          return absl::InvalidArgumentError(
              absl::StrCat(checkpoint.dir(), ": missing weight '", name, "'"));
        }
        if (view->shape != shape) {
          return absl::InvalidArgumentError(
              absl::StrCat(checkpoint.dir(), ": weight '", name, "' has shape [",
                           absl::StrJoin(view->shape, ","), "], config.json implies [",
                           absl::StrJoin(shape, ","), "]"));
        }
        auto tensor = ToTensor(*view);
        if (!tensor.ok())
          return Annotate(tensor.status(), absl::StrCat(checkpoint.dir(), ": weight '", name, "'"));
        if (!at::isFloatingType(tensor->scalar_type())) {
          return absl::InvalidArgumentError(
              absl::StrCat(checkpoint.dir(), ": weight '", name, "' is not floating point"));
        }
        *slot = tensor->to(options.device, options.dtype);
        return absl::OkStatus();
      }));
  return weights;
}

absl::StatusOr<ModelWeights> RandomWeights(const ModelConfig& config, const ModelOptions& options,
                                           uint64_t seed) {
  ModelWeights weights;
  const double norm_value = config.norm_weight_offset_one ? 0.0 : 1.0;
  // Uniform with the standard deviation of HF's normal(0, initializer_range): the same scale
  // of activations, drawn ~20x faster, which matters for 2.6B-parameter shapes.
  const double bound = config.initializer_range * std::sqrt(3.0);
  uint64_t tensor_index = 0;
  GP_RETURN_IF_ERROR(ForEachWeight(config, &weights,
                                   [&](const std::string&, const std::vector<int64_t>& shape,
                                       WeightInit init, at::Tensor* slot) {
                                     // Drawn in the model dtype on the CPU: a float32 copy of
                                     // Gemma's 256k x 2304 embedding would double the peak memory
                                     // for nothing.
                                     at::Tensor tensor = EmptyHostTensor(shape, options.dtype);
                                     switch (init) {
                                       case WeightInit::kNormal:
                                         FillUniform(tensor, bound, seed * 1000003 + tensor_index);
                                         break;
                                       case WeightInit::kZeros:
                                         tensor.zero_();
                                         break;
                                       case WeightInit::kNorm:
                                         tensor.fill_(norm_value);
                                         break;
                                     }
                                     ++tensor_index;
                                     *slot = tensor.to(options.device);
                                     return absl::OkStatus();
                                   }));
  return weights;
}

}  // namespace gp
