// config.json parsing: the reference and real-shape configs, both rope styles, family
// defaults, and clear errors for unsupported or contradictory configs.
#include "common/model/config.h"

#include <gtest/gtest.h>

#include "common/core/json_file.h"
#include "tests/unit/model/model_test_util.h"

namespace gp {
namespace {

nlohmann::json ReadConfig(const std::string& path) {
  auto json = ReadJsonFile(path);
  EXPECT_TRUE(json.ok()) << json.status();
  return *json;
}

std::string ErrorOf(const nlohmann::json& json) {
  auto config = ParseModelConfig(json, "dir/config.json");
  EXPECT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(ConfigTest, RealShapesParse) {
  struct Expected {
    std::string name;
    int64_t layers, heads, kv_heads, head_dim;
    bool tied;
  };
  for (const auto& e : std::vector<Expected>{{"llama-3.2-1b", 16, 32, 8, 64, true},
                                             {"qwen2.5-0.5b", 24, 14, 2, 64, true},
                                             {"qwen2.5-1.5b", 28, 12, 2, 128, true},
                                             {"gemma-2-2b", 26, 8, 4, 256, true}}) {
    auto config = ParseModelConfig(ReadConfig(testing::RealConfigPath(e.name)), e.name);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->num_layers, e.layers) << e.name;
    EXPECT_EQ(config->num_heads, e.heads) << e.name;
    EXPECT_EQ(config->num_kv_heads, e.kv_heads) << e.name;
    EXPECT_EQ(config->head_dim, e.head_dim) << e.name;
    EXPECT_EQ(config->tie_word_embeddings, e.tied) << e.name;
  }
}

TEST(ConfigTest, FamilySpecificFields) {
  auto llama = *ParseModelConfig(
      ReadConfig(testing::ReferenceModelDir("tiny-llama3") + "/config.json"), "l");
  EXPECT_EQ(llama.rope_full.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(llama.rope_full.factor, 32.0);
  EXPECT_EQ(llama.rope_full.original_max_position_embeddings, 64);
  EXPECT_FALSE(llama.qkv_bias);
  EXPECT_FALSE(llama.sandwich_norms);

  auto qwen =
      *ParseModelConfig(ReadConfig(testing::ReferenceModelDir("tiny-qwen2") + "/config.json"), "q");
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_FALSE(qwen.o_bias);
  EXPECT_FALSE(qwen.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(qwen.rope_full.theta, 1e6);
  EXPECT_EQ(qwen.layer_is_sliding, std::vector<bool>(3, false));  // use_sliding_window: false

  auto gemma = *ParseModelConfig(
      ReadConfig(testing::ReferenceModelDir("tiny-gemma2") + "/config.json"), "g");
  EXPECT_EQ(gemma.head_dim, 32);
  EXPECT_DOUBLE_EQ(gemma.attention_scale, 1.0 / std::sqrt(24.0));
  EXPECT_EQ(gemma.attn_logit_softcap, 8.0);
  EXPECT_EQ(gemma.final_logit_softcap, 3.0);
  EXPECT_EQ(gemma.layer_is_sliding, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(gemma.sliding_window, 8);
  EXPECT_EQ(gemma.activation, Activation::kGeluTanh);
  EXPECT_TRUE(gemma.norm_weight_offset_one && gemma.scale_embeddings && gemma.sandwich_norms);
  EXPECT_TRUE(gemma.tie_word_embeddings);  // Gemma2Config's default
}

TEST(ConfigTest, RopeParametersStyleEqualsHubStyle) {
  nlohmann::json hub = ReadConfig(testing::ReferenceModelDir("tiny-llama3") + "/config.json");
  nlohmann::json v5 = hub;
  v5.erase("rope_theta");
  v5.erase("rope_scaling");
  v5["rope_parameters"] = hub["rope_scaling"];
  v5["rope_parameters"]["rope_theta"] = hub["rope_theta"];
  auto a = ParseModelConfig(hub, "hub"), b = ParseModelConfig(v5, "v5");
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_TRUE(a->rope_full == b->rope_full);

  // Per-layer-type entries (Gemma-style); the sliding layers may get their own theta.
  nlohmann::json gemma = ReadConfig(testing::ReferenceModelDir("tiny-gemma2") + "/config.json");
  gemma.erase("rope_theta");
  gemma["rope_parameters"] = {
      {"full_attention", {{"rope_type", "default"}, {"rope_theta", 1e6}}},
      {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 1e4}}}};
  auto g = ParseModelConfig(gemma, "g");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_DOUBLE_EQ(g->rope_full.theta, 1e6);
  EXPECT_DOUBLE_EQ(g->rope_sliding.theta, 1e4);

  // Both styles present and disagreeing is a contradiction.
  nlohmann::json both = v5;
  both["rope_theta"] = 10000.0;
  EXPECT_NE(ErrorOf(both).find("contradict"), std::string::npos);
}

TEST(ConfigTest, LinearRopeAndExplicitLayerTypes) {
  nlohmann::json json = ReadConfig(testing::ReferenceModelDir("tiny-qwen2") + "/config.json");
  json["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  json["layer_types"] = {"full_attention", "sliding_attention", "full_attention"};
  json["sliding_window"] = 16;
  json["use_sliding_window"] = true;
  json["max_window_layers"] = 3;
  auto config = ParseModelConfig(json, "q");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rope_full.type, RopeType::kLinear);
  EXPECT_EQ(config->layer_is_sliding, (std::vector<bool>{false, true, false}));
}

TEST(ConfigTest, ClearErrorsNameFileAndField) {
  nlohmann::json base = ReadConfig(testing::ReferenceModelDir("tiny-llama3") + "/config.json");
  auto with = [&](const std::string& field, const nlohmann::json& value) {
    nlohmann::json j = base;
    j[field] = value;
    return j;
  };
  auto without = [&](const std::string& field) {
    nlohmann::json j = base;
    j.erase(field);
    return j;
  };
  EXPECT_EQ(ErrorOf(with("model_type", "mistral")),
            "dir/config.json: field 'model_type' is 'mistral', unsupported (supported: llama, "
            "qwen2, gemma2)");
  EXPECT_EQ(ErrorOf(without("hidden_size")), "dir/config.json: field 'hidden_size' is missing");
  EXPECT_NE(ErrorOf(with("num_attention_heads", "4"))
                .find("'num_attention_heads' must be a positive integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("num_key_value_heads", 3)).find("must divide num_attention_heads"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("hidden_act", "relu6")).find("unsupported activation 'relu6'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4}}))
                .find("'yarn', unsupported"),
            std::string::npos);
  nlohmann::json incomplete = base;
  incomplete["rope_scaling"].erase("low_freq_factor");
  EXPECT_NE(ErrorOf(incomplete).find("'rope_scaling.low_freq_factor' is missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("layer_types", {"full_attention"})).find("'layer_types'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
}

TEST(ConfigTest, MissingConfigFileIsNotFound) {
  auto config = LoadModelConfig("/nonexistent-model-dir");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(config.status().message().find("/nonexistent-model-dir/config.json"),
            std::string::npos);
}

}  // namespace
}  // namespace gp
