// The parts of a Hugging Face `config.json` that a decoder's forward pass depends on, for the
// families graphprobe runs (llama, qwen2, gemma2), read with errors that name file and field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

enum class Activation { kSilu, kGeluTanh, kGelu };
enum class RopeType { kDefault, kLinear, kLlama3 };

struct RopeParameters {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  double factor = 1.0;  // linear and llama3
  // llama3 frequency bands
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;

  bool operator==(const RopeParameters& o) const;
};

struct ModelConfig {
  std::string model_type;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  double rms_norm_eps = 1e-6;
  double initializer_range = 0.02;
  Activation activation = Activation::kSilu;
  bool tie_word_embeddings = false;

  // Projections with bias: Qwen2 has q/k/v bias; Llama's attention_bias covers q/k/v/o.
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;

  // Rotary embedding per kind of layer (Gemma 2 may give sliding layers their own).
  RopeParameters rope_full;
  RopeParameters rope_sliding;
  // Per layer: true where attention only sees the last `sliding_window` keys.
  std::vector<bool> layer_is_sliding;
  int64_t sliding_window = 0;

  // Multiplies q.k before the softmax: head_dim^-0.5, or Gemma's query_pre_attn_scalar^-0.5.
  double attention_scale = 0.0;
  std::optional<double> attn_logit_softcap;
  std::optional<double> final_logit_softcap;

  // Gemma-style details.
  bool norm_weight_offset_one = false;  // RMSNorm multiplies by (1 + weight)
  bool scale_embeddings = false;        // embeddings times sqrt(hidden_size)
  bool sandwich_norms = false;          // extra norms after attention and after the MLP

  int64_t heads_per_kv() const { return num_heads / num_kv_heads; }
};

// The largest sizes config.json may give (several times the largest open models'): anything
// above is refused before a tensor is shaped from it.
inline constexpr int64_t kMaxVocabSize = int64_t{1} << 22;
inline constexpr int64_t kMaxHiddenSize = int64_t{1} << 17;
inline constexpr int64_t kMaxIntermediateSize = int64_t{1} << 19;
inline constexpr int64_t kMaxLayers = 1024;
inline constexpr int64_t kMaxHeads = 1024;
inline constexpr int64_t kMaxHeadDim = 4096;

// Parses a config.json object; `path` only names the source in errors. Unsupported
// model_type, missing or ill-typed fields, sizes over the limits above and contradictions are
// InvalidArgument.
absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& json, const std::string& path);

// Reads DIR/config.json.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& dir);

}  // namespace gp
