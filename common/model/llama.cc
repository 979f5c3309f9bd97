// Llama (3.x): pre-norm decoder, SiLU-gated MLP, GQA, optional attention/MLP bias.
#include "common/core/status.h"
#include "common/model/family.h"

namespace gp {
namespace {

absl::Status ReadLlamaFields(const ConfigReader& reader, ModelConfig* config) {
  GP_ASSIGN_OR_RETURN(bool attention_bias, reader.Bool("attention_bias", false));
  config->qkv_bias = config->o_bias = attention_bias;
  GP_ASSIGN_OR_RETURN(config->mlp_bias, reader.Bool("mlp_bias", false));
  if (reader.Has("pretraining_tp")) {
    GP_ASSIGN_OR_RETURN(int64_t tp, reader.PositiveInt("pretraining_tp"));
    (void)tp;  // only changes how HF splits the matmuls, not the result
  }
  return absl::OkStatus();
}

}  // namespace

const ModelFamily& LlamaFamily() {
  static const ModelFamily family{"llama", nullptr, /*default_tie_word_embeddings=*/false,
                                  &ReadLlamaFields};
  return family;
}

}  // namespace gp
