// Deepens a trained model without changing what it computes: new decoder layers go on top,
// each with its attention output and MLP down projections at zero, so every residual branch
// they add is zero until training moves them. A curriculum stage can then continue a trained
// checkpoint with more depth (a further lookup hop) instead of starting over.
//
//   GP_ASSIGN_OR_RETURN(DecoderModel model, LoadWithAddedLayers("models/graph-toy", 1, seed));
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/model/decoder_model.h"
#include "nlohmann/json.hpp"

namespace gp {

// The config.json `config` (read from `source`, which errors name) with `added_layers` (>= 1)
// more decoder layers; InvalidArgument for other counts and for families that cannot grow.
absl::StatusOr<nlohmann::json> ConfigWithAddedLayers(nlohmann::json config, int added_layers,
                                                     const std::string& source);

// Loads the checkpoint in `dir` and appends `added_layers` (>= 1) layers whose other weights
// are random (deterministic in `seed`, the checkpoint's initializer_range). The result's
// logits equal the checkpoint's up to float rounding. Llama-family checkpoints only (a
// gemma2 layer adds norms after each branch, which zero weights would not make an identity).
absl::StatusOr<DecoderModel> LoadWithAddedLayers(const std::string& dir, int added_layers,
                                                 uint64_t seed, const ModelOptions& options = {});

}  // namespace gp
