// Pair features against hand-computed values for every option, and their properties.
#include "common/features/pair_features.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/expect_status.h"

namespace gp {
namespace {

// One layer, one head, 5 tokens: 0 is BOS, node 0 is tokens {1, 2}, node 1 is {3}, node 2 is {4}.
at::Tensor Attention() {
  return at::tensor({1.0f, 0.0f, 0.0f, 0.0f, 0.0f,  //
                     0.5f, 0.5f, 0.0f, 0.0f, 0.0f,  //
                     0.2f, 0.3f, 0.5f, 0.0f, 0.0f,  //
                     0.1f, 0.2f, 0.3f, 0.4f, 0.0f,  //
                     0.4f, 0.1f, 0.2f, 0.2f, 0.1f})
      .view({1, 1, 5, 5});
}
const std::vector<int> kRows = {0, 1, 2, 3, 4};
const std::vector<std::vector<std::vector<int>>> kMentions = {{{1, 2}}, {{3}}, {{4}}};

at::Tensor Features(const FeatureOptions& options,
                    const std::vector<std::vector<std::vector<int>>>& mentions = kMentions,
                    const at::Tensor& attention = Attention()) {
  auto f = PairFeatures(attention, kRows, mentions, options);
  EXPECT_TRUE(f.ok()) << f.status();
  return *f;
}

float At(const at::Tensor& f, int i, int j, int feature = 0) {
  return f[i][j][feature].item<float>();
}

TEST(PairFeaturesTest, RawPoolingSumsKeysAndAveragesQueries) {
  at::Tensor f = Features({});
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{3, 3, 1}));
  // From node 1 (token 3) to node 0 (tokens 1, 2): sum of keys = 0.2 + 0.3.
  EXPECT_FLOAT_EQ(At(f, 1, 0), 0.5f);
  // From node 2 (token 4) to node 0: 0.1 + 0.2; to node 1: 0.2.
  EXPECT_FLOAT_EQ(At(f, 2, 0), 0.3f);
  EXPECT_FLOAT_EQ(At(f, 2, 1), 0.2f);
  // From node 0 (queries 1, 2, averaged) to itself: mean(0.5 + 0, 0.3 + 0.5) = 0.65.
  EXPECT_FLOAT_EQ(At(f, 0, 0), 0.65f);
  EXPECT_FLOAT_EQ(At(f, 0, 1), 0.0f);  // causal: node 0 comes first
}

TEST(PairFeaturesTest, ArgmaxRowsAreOneHotAndSumToOne) {
  FeatureOptions o;
  o.mode = FeatureMode::kArgmax;
  at::Tensor rows = PreprocessAttentionRows(Attention(), o);
  EXPECT_TRUE(at::allclose(rows.sum(-1), at::ones({1, 1, 5})));
  EXPECT_EQ(rows[0][0][4][0].item<float>(), 1.0f);  // token 4's largest key is BOS (0.4)
  at::Tensor f = Features(o);
  EXPECT_FLOAT_EQ(At(f, 2, 0), 0.0f);
  EXPECT_FLOAT_EQ(At(f, 1, 1), 1.0f);  // token 3 looks hardest at itself
  // Token 1 ties BOS and itself (0.5, 0.5): the first index wins, as torch.argmax; token 2
  // argmaxes itself. From node 0 to itself: mean(0, 1).
  EXPECT_FLOAT_EQ(At(f, 0, 0), 0.5f);
}

TEST(PairFeaturesTest, TopKValuesOrOnes) {
  FeatureOptions o = *ParseFeatureMode("topk:2", {});
  at::Tensor f = Features(o);
  // Token 4 keeps 0.4 (BOS) and one 0.2 (ties: the first, token 2): to node 0 = 0.2.
  EXPECT_NEAR(At(f, 2, 0) + At(f, 2, 1), 0.2f, 1e-6);
  FeatureOptions ones = *ParseFeatureMode("topk1:2", {});
  at::Tensor g = Features(ones);
  EXPECT_FLOAT_EQ(At(g, 1, 0),
                  1.0f);  // token 3 keeps 0.4 (self) and 0.3 (token 2): one key in node 0
  EXPECT_FLOAT_EQ(At(g, 1, 1), 1.0f);
  EXPECT_EQ(FeatureModeName(o), "topk:2");
  EXPECT_TRUE(HasStatus(ParseFeatureMode("topk:0", {}), absl::StatusCode::kInvalidArgument,
                        "unknown feature mode 'topk:0'"));
  EXPECT_TRUE(HasStatus(ParseFeatureMode("mean", {}), absl::StatusCode::kInvalidArgument,
                        "unknown feature mode 'mean'"));
}

TEST(PairFeaturesTest, TopKNeverPicksKeysARowCannotSee) {
  // Token 1 sees keys 0 and 1 only: with K = 3 the ones go on those two, not on a future key.
  at::Tensor rows = PreprocessAttentionRows(Attention(), *ParseFeatureMode("topk1:3", {}));
  EXPECT_FLOAT_EQ(rows[0][0][1].sum().item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(rows[0][0][1].narrow(0, 2, 3).sum().item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(rows[0][0][0].sum().item<float>(), 1.0f);  // token 0 sees itself only
  at::Tensor values = PreprocessAttentionRows(Attention(), *ParseFeatureMode("topk:3", {}));
  EXPECT_FLOAT_EQ(values[0][0][1].narrow(0, 2, 3).sum().item<float>(), 0.0f);
  // After dropping the sink, token 1 keeps only itself.
  at::Tensor dropped =
      PreprocessAttentionRows(Attention(), *ParseFeatureMode("topk1:3+drop-sink", {}));
  EXPECT_FLOAT_EQ(dropped[0][0][1].sum().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(dropped[0][0][1][1].item<float>(), 1.0f);
}

TEST(PairFeaturesTest, ArgmaxOfARowWithNothingLeftIsZeroNotTheSink) {
  // Token 0 attended only to the sink (itself): with the sink dropped nothing is left.
  at::Tensor rows = PreprocessAttentionRows(Attention(), *ParseFeatureMode("argmax+drop-sink", {}));
  EXPECT_FLOAT_EQ(rows[0][0][0].sum().item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(rows[0][0][4].sum().item<float>(), 1.0f);  // others stay one-hot
}

TEST(PairFeaturesTest, ModeNamesCarryEveryOptionAndParseBack) {
  for (const char* name :
       {"raw", "argmax+drop-sink", "topk:3+max", "topk1:2+drop-sink+max+both", "raw+both"}) {
    auto options = ParseFeatureMode(name, {});
    ASSERT_TRUE(options.ok()) << name;
    EXPECT_EQ(FeatureModeName(*options), name);
  }
  auto bad = ParseFeatureMode("argmax+sink", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("unknown option '+sink'"), std::string::npos);
}

TEST(PairFeaturesTest, DroppingTheSinkRenormalizesRows) {
  FeatureOptions o;
  o.drop_sink = true;
  at::Tensor f = Features(o);
  // Token 4 without BOS: 0.1, 0.2, 0.2, 0.1 over 0.6.
  EXPECT_NEAR(At(f, 2, 0), 0.3f / 0.6f, 1e-6);
  EXPECT_NEAR(At(f, 2, 1), 0.2f / 0.6f, 1e-6);
  // Token 0 attended only to itself: its row becomes zero, not NaN.
  at::Tensor rows = PreprocessAttentionRows(Attention(), o);
  EXPECT_EQ(rows[0][0][0].sum().item<float>(), 0.0f);
}

TEST(PairFeaturesTest, RepeatedMentionsMeanOrMax) {
  // Node 1 mentioned twice: as token 3 and as token 4; node 0 as tokens {1, 2}.
  const std::vector<std::vector<std::vector<int>>> mentions = {{{1, 2}}, {{3}, {4}}};
  FeatureOptions mean;
  at::Tensor f = Features(mean, mentions);
  EXPECT_NEAR(At(f, 1, 0), (0.5f + 0.3f) / 2, 1e-6);
  FeatureOptions max;
  max.aggregation = MentionAggregation::kMax;
  at::Tensor g = Features(max, mentions);
  EXPECT_NEAR(At(g, 1, 0), 0.5f, 1e-6);
  // Node 1 to itself: mention pairs (3,3)=0.4, (3,4)=0, (4,3)=0.2, (4,4)=0.1.
  EXPECT_NEAR(At(f, 1, 1), (0.4f + 0.0f + 0.2f + 0.1f) / 4, 1e-6);
  EXPECT_NEAR(At(g, 1, 1), 0.4f, 1e-6);
}

TEST(PairFeaturesTest, BothDirectionsInterleavePerHead) {
  FeatureOptions o;
  o.both_directions = true;
  at::Tensor two_heads = at::cat({Attention(), Attention() * 0.5}, 1);  // [1, 2, 5, 5]
  at::Tensor f = Features(o, kMentions, two_heads);
  ASSERT_EQ(f.size(2), 4);  // (head 0: i->j, j->i), (head 1: i->j, j->i)
  EXPECT_FLOAT_EQ(At(f, 1, 0, 0), 0.5f);
  EXPECT_FLOAT_EQ(At(f, 1, 0, 1), 0.0f);   // from node 0 to node 1
  EXPECT_FLOAT_EQ(At(f, 1, 0, 2), 0.25f);  // head 1
  EXPECT_FLOAT_EQ(At(f, 0, 1, 1), 0.5f);
}

TEST(PairFeaturesTest, RelabelingNodesPermutesTheFeatureMatrix) {
  at::Tensor attention = at::softmax(at::randn({2, 3, 9, 9}), -1);
  const std::vector<std::vector<std::vector<int>>> mentions = {
      {{1}, {5}}, {{2, 3}}, {{4}, {7, 8}}, {{6}}};
  const std::vector<int> rows = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<int> perm = {2, 0, 3, 1};  // new label k is old node perm[k]
  std::vector<std::vector<std::vector<int>>> relabeled;
  for (int old : perm) relabeled.push_back(mentions[old]);
  for (auto aggregation : {MentionAggregation::kMean, MentionAggregation::kMax}) {
    FeatureOptions o;
    o.aggregation = aggregation;
    o.both_directions = true;
    at::Tensor f = *PairFeatures(attention, rows, mentions, o);
    at::Tensor g = *PairFeatures(attention, rows, relabeled, o);
    at::Tensor index = at::tensor(std::vector<int64_t>(perm.begin(), perm.end()), at::kLong);
    EXPECT_TRUE(at::allclose(g, f.index_select(0, index).index_select(1, index)));
  }
}

TEST(PairFeaturesTest, AveragingIdenticalOrderingsIsTheIdentity) {
  at::Tensor f = Features({});
  EXPECT_TRUE(at::equal(AverageOverOrderings({f, f, f, f}), f));
}

// A batch of prompts of different lengths, captured rows, node and mention counts, padded with
// zeros as a batched forward leaves them, pools to each prompt's own features in every mode.
TEST(PairFeaturesTest, ABatchPoolsEachPromptAsAlone) {
  struct Prompt {
    int64_t length;
    std::vector<int> row_of_token;
    std::vector<std::vector<std::vector<int>>> mentions;
  };
  const std::vector<Prompt> prompts = {
      {9, {0, 1, 2, 3, 4, 5, 6, 7, 8}, {{{1}, {5}}, {{2, 3}}, {{4}, {7, 8}}, {{6}}}},
      {6, {-1, 0, 1, -1, 2, -1}, {{{1}}, {{2}, {4}}}},
      {12, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {{{1}}, {{2, 3}}, {{5}}, {{7}, {11}}, {{9}}}}};
  const int64_t layers = 2, heads = 3, max_rows = 12, max_length = 12;
  at::Tensor batch = at::zeros({layers, 3, heads, max_rows, max_length});
  std::vector<at::Tensor> alone_rows;
  for (size_t b = 0; b < prompts.size(); ++b) {
    int64_t rows = 0;
    for (int r : prompts[b].row_of_token) rows = std::max<int64_t>(rows, r + 1);
    at::Tensor own = at::softmax(at::randn({layers, heads, rows, prompts[b].length}), -1);
    batch.select(1, static_cast<int64_t>(b))
        .narrow(2, 0, rows)
        .narrow(3, 0, prompts[b].length)
        .copy_(own);
    alone_rows.push_back(own);
  }
  std::vector<std::vector<int>> row_maps;
  std::vector<std::vector<std::vector<std::vector<int>>>> mentions;
  for (const Prompt& p : prompts) {
    row_maps.push_back(p.row_of_token);
    mentions.push_back(p.mentions);
  }
  for (const char* mode : {"raw", "argmax+drop-sink", "topk:3", "topk1:2+max+both", "raw+max"}) {
    auto options = ParseFeatureMode(mode, {});
    ASSERT_TRUE(options.ok()) << mode;
    auto together = BatchPairFeatures(batch, row_maps, mentions, *options);
    ASSERT_TRUE(together.ok()) << together.status();
    ASSERT_EQ(together->sizes(),
              (std::vector<int64_t>{3, 5, 5, layers * heads * options->directions()}));
    for (size_t b = 0; b < prompts.size(); ++b) {
      auto alone =
          PairFeatures(alone_rows[b], prompts[b].row_of_token, prompts[b].mentions, *options);
      ASSERT_TRUE(alone.ok()) << alone.status();
      const int64_t nodes = static_cast<int64_t>(prompts[b].mentions.size());
      at::Tensor own = (*together)[static_cast<int64_t>(b)];
      EXPECT_TRUE(at::allclose(own.narrow(0, 0, nodes).narrow(1, 0, nodes), *alone, 1e-5, 1e-6))
          << mode << ", prompt " << b;
      at::Tensor padded = own.clone();
      padded.narrow(0, 0, nodes).narrow(1, 0, nodes).zero_();
      EXPECT_EQ(padded.abs().max().item<double>(), 0.0)
          << mode << ": padded pairs of prompt " << b << " are not zero";
    }
  }
  EXPECT_TRUE(HasStatus(BatchPairFeatures(batch, row_maps, {mentions[0]}, {}),
                        absl::StatusCode::kInvalidArgument,
                        "a batch of 3 prompts with 3 row maps and 1 mention lists"));
  EXPECT_TRUE(HasStatus(BatchPairFeatures(batch[0], row_maps, mentions, {}),
                        absl::StatusCode::kInvalidArgument, "must be [L, B, H, R, T]"));
}

TEST(PairFeaturesTest, UncapturedTokensAndEmptyMentionsAreErrors) {
  EXPECT_TRUE(HasStatus(PairFeatures(Attention(), {0, 1, -1, 3, 4}, kMentions, {}),
                        absl::StatusCode::kInvalidArgument,
                        "token 2 of node 0 has no captured attention row"));
  EXPECT_TRUE(HasStatus(PairFeatures(Attention(), kRows, {{{1}}, {}}, {}),
                        absl::StatusCode::kInvalidArgument, "node 1 has no mention"));
  EXPECT_TRUE(HasStatus(PairFeatures(Attention(), kRows, {{{1}}, {{}}}, {}),
                        absl::StatusCode::kInvalidArgument, "a mention of node 1 has no tokens"));
  EXPECT_TRUE(HasStatus(PairFeatures(Attention().view({5, 5}), kRows, kMentions, {}),
                        absl::StatusCode::kInvalidArgument, "must be [L, H, R, T]"));
}

}  // namespace
}  // namespace gp
