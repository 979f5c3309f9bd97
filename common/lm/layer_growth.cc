#include "common/lm/layer_growth.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"

namespace gp {

absl::StatusOr<nlohmann::json> ConfigWithAddedLayers(nlohmann::json config, int added_layers,
                                                     const std::string& source) {
  if (added_layers < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("added layers ", added_layers, ": must be at least 1"));
  }
  GP_ASSIGN_OR_RETURN(ModelConfig trained, ParseModelConfig(config, source));
  if (trained.model_type != "llama" && trained.model_type != "qwen2") {
    return absl::InvalidArgumentError(absl::StrCat(source, ": model_type \"", trained.model_type,
                                                   "\": only llama and qwen2 models can grow"));
  }
  config["num_hidden_layers"] = trained.num_layers + added_layers;
  return config;
}

absl::StatusOr<DecoderModel> LoadWithAddedLayers(const std::string& dir, int added_layers,
                                                 uint64_t seed, const ModelOptions& options) {
  GP_ASSIGN_OR_RETURN(nlohmann::json trained_json, ReadJsonFile(dir + "/config.json"));
  GP_ASSIGN_OR_RETURN(nlohmann::json grown_json,
                      ConfigWithAddedLayers(trained_json, added_layers, dir));
  GP_ASSIGN_OR_RETURN(ModelConfig grown_config, ParseModelConfig(grown_json, dir));
  GP_ASSIGN_OR_RETURN(DecoderModel trained, DecoderModel::Load(dir, options));
  GP_ASSIGN_OR_RETURN(DecoderModel grown, DecoderModel::RandomInit(grown_config, options, seed));

  std::map<std::string, at::Tensor> trained_weights;
  for (auto& [name, weight] : trained.NamedParameters()) trained_weights[name] = weight;
  at::NoGradGuard no_grad;
  for (auto& [name, weight] : grown.NamedParameters()) {
    auto it = trained_weights.find(name);
    if (it != trained_weights.end()) {
      weight.copy_(it->second);
      continue;
    }
    // A new layer: its two residual branches end in these projections (and their biases).
    const bool ends_a_branch = name.find(".self_attn.o_proj.") != std::string::npos ||
                               name.find(".mlp.down_proj.") != std::string::npos;
    if (ends_a_branch) weight.zero_();
  }
  return grown;
}

}  // namespace gp
