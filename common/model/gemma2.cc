// Gemma 2: (1 + weight) RMSNorm, embeddings scaled by sqrt(hidden), norms before and after both
// attention and MLP, query_pre_attn_scalar for the attention scale, attention and final logit
// soft-capping, sliding-window attention on alternate layers, gelu-tanh MLP.
#include <cmath>

#include "common/core/status.h"
#include "common/model/family.h"

namespace gp {
namespace {

// Gemma2Config's defaults: head_dim 256 whatever the hidden size.
int64_t GemmaDefaultHeadDim(int64_t, int64_t) { return 256; }

absl::Status ReadGemma2Fields(const ConfigReader& reader, ModelConfig* config) {
  GP_ASSIGN_OR_RETURN(
      config->activation,
      ParseActivationField(reader,
                           reader.Has("hidden_activation") ? "hidden_activation" : "hidden_act",
                           "gelu_pytorch_tanh"));
  GP_ASSIGN_OR_RETURN(bool attention_bias, reader.Bool("attention_bias", false));
  config->qkv_bias = config->o_bias = attention_bias;
  GP_ASSIGN_OR_RETURN(double query_pre_attn_scalar, reader.Number("query_pre_attn_scalar", 256));
  if (query_pre_attn_scalar <= 0) return reader.Error("query_pre_attn_scalar", "must be positive");
  config->attention_scale = 1.0 / std::sqrt(query_pre_attn_scalar);
  // Absent means Gemma2Config's default; an explicit null switches soft-capping off.
  auto softcap = [&](const std::string& field,
                     double fallback) -> absl::StatusOr<std::optional<double>> {
    if (!reader.json().contains(field)) return std::optional<double>(fallback);
    GP_ASSIGN_OR_RETURN(std::optional<double> value, reader.OptionalNumber(field));
    if (value && *value <= 0) return reader.Error(field, "must be positive or null");
    return value;
  };
  GP_ASSIGN_OR_RETURN(config->attn_logit_softcap, softcap("attn_logit_softcapping", 50.0));
  GP_ASSIGN_OR_RETURN(config->final_logit_softcap, softcap("final_logit_softcapping", 30.0));
  GP_ASSIGN_OR_RETURN(config->sliding_window, reader.PositiveInt("sliding_window", 4096));
  // HF's default layer_types: layers 0, 2, 4, ... slide.
  for (int64_t i = 0; i < config->num_layers; ++i) config->layer_is_sliding[i] = (i + 1) % 2 == 1;
  config->norm_weight_offset_one = true;
  config->scale_embeddings = true;
  config->sandwich_norms = true;
  return absl::OkStatus();
}

}  // namespace

const ModelFamily& Gemma2Family() {
  static const ModelFamily family{"gemma2", &GemmaDefaultHeadDim,
                                  /*default_tie_word_embeddings=*/true, &ReadGemma2Fields};
  return family;
}

}  // namespace gp
