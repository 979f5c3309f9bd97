// Random-weight models of the four real configs: layer/head counts and output shapes.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "common/core/json_file.h"
#include "common/model/decoder_model.h"
#include "tests/unit/model/model_test_util.h"

namespace gp {
namespace {

struct RealShape {
  std::string name;
  int64_t layers, heads;
};

class RealShapesTest : public ::testing::TestWithParam<RealShape> {};

TEST_P(RealShapesTest, RandomInitRunsWithTheRealShapes) {
  const RealShape& shape = GetParam();
  auto json = ReadJsonFile(testing::RealConfigPath(shape.name));
  ASSERT_TRUE(json.ok());
  auto config = ParseModelConfig(*json, shape.name);
  ASSERT_TRUE(config.ok()) << config.status();
  // float32: this suite also runs on CPUs without bfloat16 matmul (Gemma 2 2B: 10.4 GB).
  ModelOptions options;
  auto model = DecoderModel::RandomInit(*config, options, /*seed=*/1);
  ASSERT_TRUE(model.ok()) << model.status();

  c10::InferenceMode inference;
  const int64_t batch = 2, length = 6;
  at::Tensor ids = at::randint(config->vocab_size, {batch, length}, at::kLong);
  at::Tensor mask = at::ones({batch, length}, at::kLong);
  mask[1].narrow(0, 4, 2).zero_();
  ForwardOptions forward;
  forward.logits = true;
  auto out = model->Forward(ids, mask, forward);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(static_cast<int64_t>(out->attentions.size()), shape.layers);
  for (const at::Tensor& layer : out->attentions) {
    EXPECT_EQ(layer.sizes(), (std::vector<int64_t>{batch, shape.heads, length, length}));
    // Rows are distributions over the visible keys.
    EXPECT_LT((layer.sum(-1) - 1).abs().max().item<double>(), 1e-4);
  }
  EXPECT_EQ(out->logits.sizes(), (std::vector<int64_t>{batch, length, config->vocab_size}));
  EXPECT_TRUE(at::isfinite(out->logits).all().item<bool>());
}

TEST(RandomInitTest, SameSeedSameWeightsOtherSeedOtherWeights) {
  auto config = LoadModelConfig(testing::ReferenceModelDir("tiny-gemma2"));
  ASSERT_TRUE(config.ok());
  auto a = DecoderModel::RandomInit(*config, {}, 5), b = DecoderModel::RandomInit(*config, {}, 5),
       c = DecoderModel::RandomInit(*config, {}, 6);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto pa = a->NamedParameters(), pb = b->NamedParameters(), pc = c->NamedParameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].first, pb[i].first);
    EXPECT_TRUE(at::equal(pa[i].second, pb[i].second)) << pa[i].first;
  }
  size_t q_index = 0;
  while (q_index < pa.size() && pa[q_index].first != "model.layers.0.self_attn.q_proj.weight")
    ++q_index;
  ASSERT_LT(q_index, pa.size());
  const at::Tensor& q = pa[q_index].second;
  EXPECT_FALSE(at::equal(q, pc[q_index].second));
  EXPECT_NEAR(q.std().item<double>(), config->initializer_range, 0.1 * config->initializer_range);
}

INSTANTIATE_TEST_SUITE_P(Configs, RealShapesTest,
                         ::testing::Values(RealShape{"llama-3.2-1b", 16, 32},
                                           RealShape{"qwen2.5-0.5b", 24, 14},
                                           RealShape{"qwen2.5-1.5b", 28, 12},
                                           RealShape{"gemma-2-2b", 26, 8}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& ch : n) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace gp
