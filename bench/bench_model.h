// The benchmarks' model argument: a checkpoint directory, or a config.json whose shapes get
// random weights (seed 0): the real models' shapes without their weights.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/config.h"
#include "common/model/decoder_model.h"

namespace gp {

// One entry of a benchmark's --models list.
struct NamedModel {
  std::string name, path;
};

// A --models value: comma-separated NAME=PATH entries, in order; `path_form` names what PATH
// should be in the error for an entry without '='.
inline absl::StatusOr<std::vector<NamedModel>> ParseNamedModels(const std::string& list,
                                                                const std::string& path_form) {
  std::vector<NamedModel> models;
  for (const std::string& entry : std::vector<std::string>(absl::StrSplit(list, ','))) {
    const std::vector<std::string> parts = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad --models entry '", entry, "' (want NAME=", path_form, ")"));
    }
    models.push_back({parts[0], parts[1]});
  }
  return models;
}

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
