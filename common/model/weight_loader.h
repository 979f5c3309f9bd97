// Fills ModelWeights from a checkpoint (names and shapes checked against the family's tables)
// or with random values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/core/safetensors.h"
#include "common/model/config.h"
#include "common/model/decoder_model.h"
#include "common/model/weights.h"

namespace gp {

// Visits every weight the config calls for: its HF name, shape, initialization and slot.
using WeightVisitor = std::function<absl::Status(
    const std::string& name, const std::vector<int64_t>& shape, WeightInit init, at::Tensor* slot)>;
absl::Status ForEachWeight(const ModelConfig& config, ModelWeights* weights,
                           const WeightVisitor& visit);

absl::StatusOr<ModelWeights> LoadWeights(const SafetensorsCheckpoint& checkpoint,
                                         const ModelConfig& config, const ModelOptions& options);

absl::StatusOr<ModelWeights> RandomWeights(const ModelConfig& config, const ModelOptions& options,
                                           uint64_t seed);

}  // namespace gp
