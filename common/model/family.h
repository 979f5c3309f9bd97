// A model family: what its config.json means. Each family lives in its own file (llama.cc,
// qwen2.cc, gemma2.cc) and registers here; what its checkpoint holds follows from the config
// flags the family sets (weights.h), and the forward pass is one decoder skeleton
// (decoder_model.cc) driven by the same flags. No libtorch: config.json is read without it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/model/config.h"
#include "common/model/config_reader.h"

namespace gp {

struct ModelFamily {
  std::string_view model_type;
  // Family defaults HF's config class applies when a field is absent.
  int64_t (*default_head_dim)(int64_t hidden_size, int64_t num_heads);
  bool default_tie_word_embeddings;
  // Reads the family's own fields after the common ones (config.cc) are in `config`.
  absl::Status (*read_family_fields)(const ConfigReader& reader, ModelConfig* config);
};

// nullptr for model types graphprobe does not run.
const ModelFamily* FindModelFamily(std::string_view model_type);
// "llama, qwen2, gemma2", for error messages.
std::string SupportedModelTypes();

// Parses the activation named by `field` ("silu", "gelu_pytorch_tanh", ...), with a default.
absl::StatusOr<Activation> ParseActivationField(const ConfigReader& reader,
                                                const std::string& field,
                                                const std::string& fallback);

const ModelFamily& LlamaFamily();
const ModelFamily& Qwen2Family();
const ModelFamily& Gemma2Family();

}  // namespace gp
