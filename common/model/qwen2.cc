// Qwen 2 / 2.5: the Llama layout (and Llama's norm names) with bias on the q/k/v projections,
// none on o, and optional sliding-window attention on the layers from max_window_layers on.
#include "common/core/status.h"
#include "common/model/family.h"

namespace gp {
namespace {

absl::Status ReadQwen2Fields(const ConfigReader& reader, ModelConfig* config) {
  config->qkv_bias = true;
  GP_ASSIGN_OR_RETURN(bool use_sliding_window, reader.Bool("use_sliding_window", false));
  if (!use_sliding_window) return absl::OkStatus();
  GP_ASSIGN_OR_RETURN(config->sliding_window, reader.PositiveInt("sliding_window"));
  GP_ASSIGN_OR_RETURN(int64_t max_window_layers,
                      reader.PositiveInt("max_window_layers", config->num_layers));
  for (int64_t i = max_window_layers; i < config->num_layers; ++i)
    config->layer_is_sliding[i] = true;
  return absl::OkStatus();
}

}  // namespace

const ModelFamily& Qwen2Family() {
  static const ModelFamily family{"qwen2", nullptr, /*default_tie_word_embeddings=*/false,
                                  &ReadQwen2Fields};
  return family;
}

}  // namespace gp
