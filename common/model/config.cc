// config.json -> ModelConfig: the fields every family shares, rotary embedding in both the hub
// style (rope_theta + rope_scaling) and the newer rope_parameters style, and layer types.
#include "common/model/config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/config_reader.h"
#include "common/model/family.h"

namespace gp {
namespace {

absl::StatusOr<Activation> ParseActivation(const ConfigReader& reader, const std::string& field,
                                           const std::string& name) {
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "gelu_pytorch_tanh" || name == "gelu_new" || name == "gelu_fast")
    return Activation::kGeluTanh;
  if (name == "gelu") return Activation::kGelu;
  return reader.Error(field, absl::StrCat("names an unsupported activation '", name,
                                          "' (supported: silu, gelu_pytorch_tanh, gelu)"));
}

// Reads one rope parameter object (`rope_scaling` or one `rope_parameters` entry).
// `field` names it in errors; `theta` is the rope_theta to use when the object has none.
absl::StatusOr<RopeParameters> ParseRope(const nlohmann::json& obj, const std::string& path,
                                         const std::string& field, double theta) {
  ConfigReader reader(obj, path);
  auto sub = [&](const std::string& key) { return field + "." + key; };
  if (!obj.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field '", field, "' must be an object"));
  }
  RopeParameters rope;
  GP_ASSIGN_OR_RETURN(rope.theta, reader.Number("rope_theta", theta));
  std::string type = "default";
  if (reader.Has("rope_type")) {
    GP_ASSIGN_OR_RETURN(type, reader.String("rope_type", "default"));
  } else if (reader.Has("type")) {  // older configs
    GP_ASSIGN_OR_RETURN(type, reader.String("type", "default"));
  }
  auto number = [&](const std::string& key, double fallback) -> absl::StatusOr<double> {
    auto value = reader.Number(key, fallback);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": field '", sub(key), "' must be a number"));
    }
    return value;
  };
  auto required = [&](const std::string& key) -> absl::StatusOr<double> {
    if (!reader.Has(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": field '", sub(key), "' is missing (needed by rope_type '", type, "')"));
    }
    return number(key, 0.0);
  };
  if (type == "default") {
    rope.type = RopeType::kDefault;
  } else if (type == "linear") {
    rope.type = RopeType::kLinear;
    GP_ASSIGN_OR_RETURN(rope.factor, required("factor"));
  } else if (type == "llama3") {
    rope.type = RopeType::kLlama3;
    GP_ASSIGN_OR_RETURN(rope.factor, required("factor"));
    GP_ASSIGN_OR_RETURN(rope.low_freq_factor, required("low_freq_factor"));
    GP_ASSIGN_OR_RETURN(rope.high_freq_factor, required("high_freq_factor"));
    GP_ASSIGN_OR_RETURN(double original, required("original_max_position_embeddings"));
    rope.original_max_position_embeddings = static_cast<int64_t>(original);
    if (rope.high_freq_factor <= rope.low_freq_factor) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": field '", sub("high_freq_factor"),
                                                     "' must exceed low_freq_factor"));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field '", sub("rope_type"), "' is '", type,
                     "', unsupported (supported: default, linear, llama3)"));
  }
  if (rope.factor <= 0 || rope.theta <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field '", field, "' needs positive rope_theta and factor"));
  }
  return rope;
}

// Fills rope_full / rope_sliding from either config style, refusing the two when they disagree.
absl::Status ReadRope(const ConfigReader& reader, ModelConfig* config) {
  const std::string& path = reader.path();
  GP_ASSIGN_OR_RETURN(double theta, reader.Number("rope_theta", 10000.0));
  RopeParameters hub;
  if (reader.Has("rope_scaling")) {
    GP_ASSIGN_OR_RETURN(hub, ParseRope(reader.json()["rope_scaling"], path, "rope_scaling", theta));
  } else {
    hub.theta = theta;
  }
  config->rope_full = config->rope_sliding = hub;
  if (!reader.Has("rope_parameters")) return absl::OkStatus();

  const nlohmann::json& params = reader.json()["rope_parameters"];
  if (params.is_object() &&
      (params.contains("full_attention") || params.contains("sliding_attention"))) {
    // One entry per layer type.
    for (const auto& [kind, target] : {std::pair{"full_attention", &config->rope_full},
                                       std::pair{"sliding_attention", &config->rope_sliding}}) {
      if (!params.contains(kind)) continue;
      GP_ASSIGN_OR_RETURN(
          *target, ParseRope(params[kind], path, absl::StrCat("rope_parameters.", kind), theta));
    }
    if (!params.contains("sliding_attention")) config->rope_sliding = config->rope_full;
  } else {
    GP_ASSIGN_OR_RETURN(config->rope_full, ParseRope(params, path, "rope_parameters", theta));
    config->rope_sliding = config->rope_full;
  }
  const bool hub_given = reader.Has("rope_theta") || reader.Has("rope_scaling");
  if (hub_given && !(config->rope_full == hub)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": fields 'rope_parameters' and 'rope_theta'/'rope_scaling' contradict each other"));
  }
  return absl::OkStatus();
}

absl::Status ReadLayerTypes(const ConfigReader& reader, ModelConfig* config) {
  if (!reader.Has("layer_types")) return absl::OkStatus();  // the family's default stands
  const nlohmann::json& types = reader.json()["layer_types"];
  if (!types.is_array() || static_cast<int64_t>(types.size()) != config->num_layers) {
    return reader.Error("layer_types", absl::StrCat("must list one type for each of the ",
                                                    config->num_layers, " layers"));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    const auto& t = types[i];
    if (t == "full_attention") {
      config->layer_is_sliding[i] = false;
    } else if (t == "sliding_attention") {
      config->layer_is_sliding[i] = true;
    } else {
      return reader.Error(
          absl::StrCat("layer_types[", i, "]"),
          absl::StrCat("is ", t.dump(), "; expected full_attention or sliding_attention"));
    }
  }
  return absl::OkStatus();
}

// A size field: a positive integer up to `max` (the model's tensors are built from it, so a
// hostile config.json must not ask for terabytes).
absl::StatusOr<int64_t> Size(const ConfigReader& reader, const std::string& field, int64_t max,
                             std::optional<int64_t> fallback = std::nullopt) {
  GP_ASSIGN_OR_RETURN(int64_t value,
                      fallback ? reader.PositiveInt(field, *fallback) : reader.PositiveInt(field));
  if (value > max) return reader.Error(field, absl::StrCat(value, " is over the limit of ", max));
  return value;
}

}  // namespace

bool RopeParameters::operator==(const RopeParameters& o) const {
  auto close = [](double a, double b) {
    return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), 1.0);
  };
  if (type != o.type || !close(theta, o.theta)) return false;
  if (type == RopeType::kDefault) return true;
  if (!close(factor, o.factor)) return false;
  if (type == RopeType::kLinear) return true;
  return close(low_freq_factor, o.low_freq_factor) && close(high_freq_factor, o.high_freq_factor) &&
         original_max_position_embeddings == o.original_max_position_embeddings;
}

absl::StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& json, const std::string& path) {
  if (!json.is_object())
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  ConfigReader reader(json, path);
  ModelConfig config;
  if (!reader.Has("model_type")) return reader.Error("model_type", "is missing");
  GP_ASSIGN_OR_RETURN(config.model_type, reader.String("model_type", ""));
  const ModelFamily* family = FindModelFamily(config.model_type);
  if (family == nullptr) {
    return reader.Error("model_type",
                        absl::StrCat("is '", config.model_type,
                                     "', unsupported (supported: ", SupportedModelTypes(), ")"));
  }
  GP_ASSIGN_OR_RETURN(config.vocab_size, Size(reader, "vocab_size", kMaxVocabSize));
  GP_ASSIGN_OR_RETURN(config.hidden_size, Size(reader, "hidden_size", kMaxHiddenSize));
  GP_ASSIGN_OR_RETURN(config.intermediate_size,
                      Size(reader, "intermediate_size", kMaxIntermediateSize));
  GP_ASSIGN_OR_RETURN(config.num_layers, Size(reader, "num_hidden_layers", kMaxLayers));
  GP_ASSIGN_OR_RETURN(config.num_heads, Size(reader, "num_attention_heads", kMaxHeads));
  GP_ASSIGN_OR_RETURN(config.num_kv_heads,
                      Size(reader, "num_key_value_heads", kMaxHeads, config.num_heads));
  if (config.num_heads % config.num_kv_heads != 0) {
    return reader.Error("num_key_value_heads",
                        absl::StrCat("(", config.num_kv_heads,
                                     ") must divide num_attention_heads (", config.num_heads, ")"));
  }
  if (!reader.Has("head_dim") && family->default_head_dim == nullptr &&
      config.hidden_size % config.num_heads != 0) {
    return reader.Error("head_dim", absl::StrCat("is missing and hidden_size (", config.hidden_size,
                                                 ") is not a multiple of num_attention_heads"));
  }
  const int64_t default_head_dim =
      family->default_head_dim ? family->default_head_dim(config.hidden_size, config.num_heads)
                               : config.hidden_size / config.num_heads;
  GP_ASSIGN_OR_RETURN(config.head_dim, Size(reader, "head_dim", kMaxHeadDim, default_head_dim));
  if (config.head_dim % 2 != 0)
    return reader.Error("head_dim", "must be even for rotary embeddings");
  GP_ASSIGN_OR_RETURN(config.rms_norm_eps, reader.Number("rms_norm_eps", 1e-6));
  GP_ASSIGN_OR_RETURN(config.initializer_range, reader.Number("initializer_range", 0.02));
  GP_ASSIGN_OR_RETURN(config.tie_word_embeddings,
                      reader.Bool("tie_word_embeddings", family->default_tie_word_embeddings));
  GP_ASSIGN_OR_RETURN(std::string act, reader.String("hidden_act", "silu"));
  GP_ASSIGN_OR_RETURN(config.activation, ParseActivation(reader, "hidden_act", act));
  GP_RETURN_IF_ERROR(ReadRope(reader, &config));
  config.layer_is_sliding.assign(config.num_layers, false);
  config.attention_scale = 1.0 / std::sqrt(static_cast<double>(config.head_dim));

  GP_RETURN_IF_ERROR(family->read_family_fields(reader, &config));
  GP_RETURN_IF_ERROR(ReadLayerTypes(reader, &config));
  for (bool sliding : config.layer_is_sliding) {
    if (sliding && config.sliding_window <= 0) {
      return reader.Error("sliding_window", "must be a positive integer when layers slide");
    }
  }
  return config;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  GP_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(path));
  return ParseModelConfig(json, path);
}

// Re-exported for families: parses the activation named by `field`.
absl::StatusOr<Activation> ParseActivationField(const ConfigReader& reader,
                                                const std::string& field,
                                                const std::string& fallback) {
  GP_ASSIGN_OR_RETURN(std::string name, reader.String(field, fallback));
  return ParseActivation(reader, field, name);
}

}  // namespace gp
