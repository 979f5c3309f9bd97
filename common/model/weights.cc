// Weight shapes and names shared by every family.
#include "common/model/weights.h"

#include "absl/strings/str_cat.h"

namespace gp {

std::vector<int64_t> ShapeOf(WeightShape shape, const ModelConfig& c) {
  const int64_t q = c.num_heads * c.head_dim;
  const int64_t kv = c.num_kv_heads * c.head_dim;
  switch (shape) {
    case WeightShape::kHidden:
      return {c.hidden_size};
    case WeightShape::kQueryProj:
      return {q, c.hidden_size};
    case WeightShape::kKeyValueProj:
      return {kv, c.hidden_size};
    case WeightShape::kOutputProj:
      return {c.hidden_size, q};
    case WeightShape::kQueryBias:
      return {q};
    case WeightShape::kKeyValueBias:
      return {kv};
    case WeightShape::kUpProj:
      return {c.intermediate_size, c.hidden_size};
    case WeightShape::kDownProj:
      return {c.hidden_size, c.intermediate_size};
    case WeightShape::kIntermediate:
      return {c.intermediate_size};
  }
  return {};
}

const std::vector<LayerWeightName>& LayerNormNames(const ModelConfig& config) {
  using L = LayerWeights;
  static const std::vector<LayerWeightName> pre_norm = {
      {"input_layernorm.weight", &L::input_norm, WeightShape::kHidden, WeightInit::kNorm, nullptr},
      {"post_attention_layernorm.weight", &L::pre_feedforward_norm, WeightShape::kHidden,
       WeightInit::kNorm, nullptr},
  };
  static const std::vector<LayerWeightName> sandwich = {
      {"input_layernorm.weight", &L::input_norm, WeightShape::kHidden, WeightInit::kNorm, nullptr},
      {"post_attention_layernorm.weight", &L::post_attention_norm, WeightShape::kHidden,
       WeightInit::kNorm, nullptr},
      {"pre_feedforward_layernorm.weight", &L::pre_feedforward_norm, WeightShape::kHidden,
       WeightInit::kNorm, nullptr},
      {"post_feedforward_layernorm.weight", &L::post_feedforward_norm, WeightShape::kHidden,
       WeightInit::kNorm, nullptr},
  };
  return config.sandwich_norms ? sandwich : pre_norm;
}

const std::vector<LayerWeightName>& ProjectionWeightNames() {
  using L = LayerWeights;
  static const std::vector<LayerWeightName> names = {
      {"self_attn.q_proj.weight", &L::q_proj, WeightShape::kQueryProj, WeightInit::kNormal,
       nullptr},
      {"self_attn.k_proj.weight", &L::k_proj, WeightShape::kKeyValueProj, WeightInit::kNormal,
       nullptr},
      {"self_attn.v_proj.weight", &L::v_proj, WeightShape::kKeyValueProj, WeightInit::kNormal,
       nullptr},
      {"self_attn.o_proj.weight", &L::o_proj, WeightShape::kOutputProj, WeightInit::kNormal,
       nullptr},
      {"self_attn.q_proj.bias", &L::q_bias, WeightShape::kQueryBias, WeightInit::kZeros,
       &ModelConfig::qkv_bias},
      {"self_attn.k_proj.bias", &L::k_bias, WeightShape::kKeyValueBias, WeightInit::kZeros,
       &ModelConfig::qkv_bias},
      {"self_attn.v_proj.bias", &L::v_bias, WeightShape::kKeyValueBias, WeightInit::kZeros,
       &ModelConfig::qkv_bias},
      {"self_attn.o_proj.bias", &L::o_bias, WeightShape::kHidden, WeightInit::kZeros,
       &ModelConfig::o_bias},
      {"mlp.gate_proj.weight", &L::gate_proj, WeightShape::kUpProj, WeightInit::kNormal, nullptr},
      {"mlp.up_proj.weight", &L::up_proj, WeightShape::kUpProj, WeightInit::kNormal, nullptr},
      {"mlp.down_proj.weight", &L::down_proj, WeightShape::kDownProj, WeightInit::kNormal, nullptr},
      {"mlp.gate_proj.bias", &L::gate_bias, WeightShape::kIntermediate, WeightInit::kZeros,
       &ModelConfig::mlp_bias},
      {"mlp.up_proj.bias", &L::up_bias, WeightShape::kIntermediate, WeightInit::kZeros,
       &ModelConfig::mlp_bias},
      {"mlp.down_proj.bias", &L::down_bias, WeightShape::kHidden, WeightInit::kZeros,
       &ModelConfig::mlp_bias},
  };
  return names;
}

std::string LayerWeightFullName(int64_t layer, const LayerWeightName& entry) {
  return absl::StrCat("model.layers.", layer, ".", entry.suffix);
}

}  // namespace gp
