// The benchmarks' model argument: a checkpoint directory, or a config.json whose shapes get
// random weights (seed 0): the real models' shapes without their weights.
#pragma once

#include <string>

#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/config.h"
#include "common/model/decoder_model.h"

namespace gp {

inline absl::StatusOr<DecoderModel> LoadCheckpointOrConfig(const std::string& source,
                                                           const ModelOptions& options) {
  if (source.size() > 5 && source.substr(source.size() - 5) == ".json") {
    GP_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(source));
    GP_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(json, source));
    return DecoderModel::RandomInit(config, options, 0);
  }
  return DecoderModel::Load(source, options);
}

}  // namespace gp
