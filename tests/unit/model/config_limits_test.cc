// config.json sizes over the limits are refused before any tensor is shaped from them (a
// config asking for 10^15 layers once made the parser itself try to allocate them).
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/model/config.h"
#include "nlohmann/json.hpp"

namespace gp {
namespace {

nlohmann::json SmallLlama() {
  return {{"model_type", "llama"},   {"vocab_size", 64},       {"hidden_size", 32},
          {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2}};
}

TEST(ConfigLimitsTest, SizesUpToTheLimitsPassAndAboveAreNamed) {
  ASSERT_TRUE(ParseModelConfig(SmallLlama(), "config.json").ok());
  const struct {
    const char* field;
    int64_t limit;
  } limits[] = {{"vocab_size", kMaxVocabSize},
                {"hidden_size", kMaxHiddenSize},
                {"intermediate_size", kMaxIntermediateSize},
                {"num_hidden_layers", kMaxLayers},
                {"num_attention_heads", kMaxHeads},
                {"head_dim", kMaxHeadDim}};
  for (const auto& [field, limit] : limits) {
    nlohmann::json json = SmallLlama();
    json[field] = limit + 1;
    if (std::string(field) == "num_attention_heads") json["num_key_value_heads"] = 1;
    const absl::StatusOr<ModelConfig> config = ParseModelConfig(json, "c.json");
    ASSERT_FALSE(config.ok()) << field;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(absl::StrCat("c.json: field '", field, "' ", limit + 1,
                                                          " is over the limit of ", limit)),
              std::string::npos)
        << config.status();
  }
  nlohmann::json huge = SmallLlama();
  huge["num_hidden_layers"] = int64_t{1000000000000000};
  EXPECT_FALSE(ParseModelConfig(huge, "c.json").ok());
}

}  // namespace
}  // namespace gp
