// A decoder's weights as tensors, and the tables that map Hugging Face tensor names onto them.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "common/model/config.h"

namespace gp {

// One decoder layer. Tensors a family does not have stay undefined.
struct LayerWeights {
  at::Tensor input_norm;
  at::Tensor q_proj, k_proj, v_proj, o_proj;
  at::Tensor q_bias, k_bias, v_bias, o_bias;
  at::Tensor post_attention_norm;    // Gemma 2: applied to the attention output
  at::Tensor pre_feedforward_norm;   // the norm before the MLP (Llama's post_attention_layernorm)
  at::Tensor post_feedforward_norm;  // Gemma 2: applied to the MLP output
  at::Tensor gate_proj, up_proj, down_proj;
  at::Tensor gate_bias, up_bias, down_bias;
};

struct ModelWeights {
  at::Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  at::Tensor final_norm;  // [hidden]
  at::Tensor lm_head;     // [vocab, hidden]; the embedding itself when tied
};

// The shape of a weight, in terms of the config.
enum class WeightShape {
  kHidden,        // [hidden]: norms, o/down bias
  kQueryProj,     // [heads * head_dim, hidden]
  kKeyValueProj,  // [kv_heads * head_dim, hidden]
  kOutputProj,    // [hidden, heads * head_dim]
  kQueryBias,     // [heads * head_dim]
  kKeyValueBias,  // [kv_heads * head_dim]
  kUpProj,        // [intermediate, hidden]: gate and up
  kDownProj,      // [hidden, intermediate]
  kIntermediate,  // [intermediate]: gate and up bias
};

// What a freshly initialized weight holds (as Hugging Face's _init_weights does).
enum class WeightInit { kNormal, kZeros, kNorm };

// One row of a family's weight table: the name under `model.layers.{i}.`, the slot it fills,
// its shape and initialization, and the config flag that says whether the family has it
// (nullptr: always).
struct LayerWeightName {
  const char* suffix;
  at::Tensor LayerWeights::*slot;
  WeightShape shape;
  WeightInit init;
  bool ModelConfig::*present_if;
};

// The attention and MLP projections (and their optional biases) under the names all three
// families share; which biases exist is decided by the config flags.
const std::vector<LayerWeightName>& ProjectionWeightNames();

// The norms of one decoder layer, the names that differ between families: a pre-norm layer's
// two (Llama, Qwen2: "post_attention_layernorm" is the norm in front of the MLP) or, with
// `sandwich_norms` (Gemma 2), a norm before and after both attention and MLP.
const std::vector<LayerWeightName>& LayerNormNames(const ModelConfig& config);

std::vector<int64_t> ShapeOf(WeightShape shape, const ModelConfig& config);

// Names shared by every family.
inline constexpr const char* kEmbedTokensName = "model.embed_tokens.weight";
inline constexpr const char* kFinalNormName = "model.norm.weight";
inline constexpr const char* kLmHeadName = "lm_head.weight";
std::string LayerWeightFullName(int64_t layer, const LayerWeightName& entry);

}  // namespace gp
