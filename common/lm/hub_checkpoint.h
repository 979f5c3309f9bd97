// Writes a model in the Hugging Face hub layout, so graphprobe's own loader (and
// transformers) read it like any downloaded checkpoint: config.json, model.safetensors,
// tokenizer.json and a README.md model card.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/model/decoder_model.h"
#include "nlohmann/json.hpp"

namespace gp {

struct HubCheckpoint {
  nlohmann::json config;     // config.json
  nlohmann::json tokenizer;  // tokenizer.json
  std::string model_card;    // README.md
};

// Creates `dir` if needed; weights are stored in bfloat16 under their Hugging Face names.
// Each file is written to a temporary name and renamed, so an interrupted save never leaves
// a half-written file.
absl::Status SaveHubCheckpoint(const std::string& dir, const DecoderModel& model,
                               const HubCheckpoint& files);

}  // namespace gp
