// Probes: torch_geometric's GCNConv golden outputs, planted-signal datasets each probe must
// learn, controls that must stay near chance, determinism, and bad datasets.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <set>

#include "common/model/tensor_io.h"
#include "common/probe/dataset.h"
#include "common/probe/logistic.h"
#include "common/probe/metrics.h"
#include "common/probe/probes.h"
#include "common/probe/trainer.h"
#include "tests/test_data.h"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

TEST(GcnConvTest, MatchesTorchGeometricForAllSettingsWithAndWithoutEdgeWeights) {
  auto golden = ReadTensors(std::string(GP_TEST_DATA) + "/hf-reference/gcn_golden.safetensors");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const at::Tensor x = golden->at("x").unsqueeze(0);
  const at::Tensor edge_index = golden->at("edge_index");
  const at::Tensor edge_weight = golden->at("edge_weight");
  const int64_t n = x.size(1);
  for (const std::string setting : {"default", "improved", "no_self_loops"}) {
    for (bool weighted : {true, false}) {
      at::Tensor a = at::zeros({1, n, n});
      for (int64_t e = 0; e < edge_index.size(1); ++e) {
        const int64_t source = edge_index[0][e].item<int64_t>(),
                      target = edge_index[1][e].item<int64_t>();
        a[0][target][source] += weighted ? edge_weight[e].item<float>() : 1.0f;
      }
      const at::Tensor norm =
          GcnNormalize(a, setting != "no_self_loops", setting == "improved", weighted);
      const at::Tensor out =
          GcnConv(norm, x, golden->at(setting + ".lin_weight"), golden->at(setting + ".bias"));
      const at::Tensor& want =
          golden->at(setting + (weighted ? ".out_weighted" : ".out_unweighted"));
      EXPECT_LT((out[0] - want).abs().max().item<double>(), 1e-5)
          << setting << " weighted=" << weighted;
    }
  }
}

// Graphs whose features carry the adjacency plus noise (or only noise). Each graph's nodes
// carry names drawn from a pool of 10 (node_name_id), independent of the edges.
ProbeDataset Planted(int64_t graphs, int64_t n, int64_t f, double noise, bool signal,
                     uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor adjacency = (at::rand({graphs, n, n}, gen) < 0.3).to(at::kByte).triu(1);
  at::Tensor features = at::randn({graphs, n, n, f}, gen) * noise;
  if (signal) {
    features.select(3, 0).add_(adjacency.to(at::kFloat));
    features.select(3, 1).add_(adjacency.to(at::kFloat).transpose(1, 2));
  }
  ProbeDataset d;
  d.features = features;
  d.adjacency = adjacency;
  d.node_mask = at::ones({graphs, n}, at::kBool);
  d.split = at::zeros({graphs}, at::kByte);
  d.split.narrow(0, graphs * 7 / 10, graphs / 10).fill_(1);
  d.split.narrow(0, graphs * 8 / 10, graphs - graphs * 8 / 10).fill_(2);
  d.graph_id = at::arange(graphs, at::kLong);
  d.node_name_id = at::empty({graphs, n}, at::kLong);
  for (int64_t g = 0; g < graphs; ++g) {
    d.node_name_id[g] = at::randperm(10, gen, at::kLong).narrow(0, 0, n);
  }
  return d;
}

TrainOptions Quick(const std::string& probe) {
  TrainOptions o;
  o.probe.kind = probe;
  o.probe.hidden = 32;
  o.epochs = 40;
  o.learning_rate = 1e-2;
  o.batch_size = 32;
  o.bootstrap_resamples = 200;
  if (probe == "graph-mlp") {  // must learn where each pair sits in the flattened input
    o.probe.hidden = 512;
    o.epochs = 150;
    o.learning_rate = 1e-3;
    o.weight_decay = 1e-4;
  }
  return o;
}

class PlantedSignalTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PlantedSignalTest, LearnsThePlantedAdjacency) {
  const ProbeDataset data = Planted(300, 6, 8, 0.15, true, 1);
  ASSERT_TRUE(ValidateProbeDataset(data, "planted").ok());
  std::vector<double> losses;
  auto result = TrainProbe(data, Quick(GetParam()),
                           [&](const EpochRecord& r) { losses.push_back(r.train_loss); });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GE(result->test.f1, 0.95) << GetParam();
  EXPECT_GE(result->test.auc, 0.97) << GetParam();
  // The interval brackets the estimate (a perfect probe's may be a single point).
  EXPECT_LE(result->test_interval.f1_low, result->test.f1);
  EXPECT_GE(result->test_interval.f1_high, result->test.f1);
  EXPECT_LE(result->test_interval.auc_low, result->test.auc);
  EXPECT_GE(result->test_interval.auc_high, result->test.auc);
  // Never stuck at ln 2: the loss falls well below it within the first epochs (iterations).
  ASSERT_GE(losses.size(), 3u);
  EXPECT_LT(losses[2], 0.6) << GetParam();
}

TEST_P(PlantedSignalTest, LabelShuffleAndPureNoiseStayNearChance) {
  TrainOptions o = Quick(GetParam());
  o.control = ProbeControl::kLabelShuffle;
  auto shuffled = TrainProbe(Planted(300, 6, 8, 0.3, true, 2), o);
  ASSERT_TRUE(shuffled.ok());
  EXPECT_GT(shuffled->test.auc, 0.35) << GetParam();
  EXPECT_LT(shuffled->test.auc, 0.65) << GetParam();
  auto noise = TrainProbe(Planted(300, 6, 8, 0.3, false, 3), Quick(GetParam()));
  ASSERT_TRUE(noise.ok());
  EXPECT_GT(noise->test.auc, 0.35) << GetParam();
  EXPECT_LT(noise->test.auc, 0.65) << GetParam();
  // At chance the interval is wide and contains 0.5.
  EXPECT_LT(noise->test_interval.auc_low, 0.5) << GetParam();
  EXPECT_GT(noise->test_interval.auc_high, 0.5) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Probes, PlantedSignalTest,
                         ::testing::Values("pair-mlp", "graph-mlp", "gcn", "logreg-head",
                                           "logreg-layer"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// 3 layers x 4 heads, one direction. Head (1, 2) attends more along edges, head (2, 0) less
// (informative with the opposite sign), every other head is noise.
ProbeDataset PlantedHeads(uint64_t seed) {
  ProbeDataset d = Planted(400, 6, 12, 1.0, false, seed);
  const at::Tensor edge = d.adjacency.to(at::kFloat);
  const at::Tensor either = (edge + edge.transpose(1, 2)).clamp_max(1);
  d.features.select(3, 1 * 4 + 2).add_(1.5 * either);
  d.features.select(3, 2 * 4 + 0).sub_(1.5 * either);
  d.spec = {{"feature_order", {{"layers", 3}, {"heads", 4}, {"directions", {"i->j"}}}}};
  return d;
}

// The validation AUC of one raw feature (higher = edge) against the undirected labels.
double FeatureAuc(const ProbeDataset& d, int64_t feature, double sign) {
  const at::Tensor val = d.Indices(1);
  const at::Tensor x = d.features.select(3, feature).index_select(0, val);
  const TaskPairs pairs = PairsForTask(sign * x, d.adjacency.index_select(0, val),
                                       d.node_mask.index_select(0, val), ProbeTask::kUndirected);
  return RocAuc(pairs.logits.masked_select(pairs.valid), pairs.labels.masked_select(pairs.valid));
}

TEST(LogisticProbeTest, PlantedHeadsRankFirstWithTheirTrueAucAndNoHeadBelowChance) {
  const ProbeDataset data = PlantedHeads(11);
  TrainOptions o = Quick("logreg-head");
  ApplyFeatureLayout(data, &o.probe);
  auto result = TrainProbe(data, o);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->head_ranking.size(), 12u);
  const double positive_truth = FeatureAuc(data, 1 * 4 + 2, 1.0);
  const double negative_truth = FeatureAuc(data, 2 * 4 + 0, -1.0);
  ASSERT_GT(positive_truth, 0.85);
  ASSERT_GT(negative_truth, 0.85);
  std::set<std::pair<int64_t, int64_t>> top = {
      {result->head_ranking[0].layer, result->head_ranking[0].head},
      {result->head_ranking[1].layer, result->head_ranking[1].head}};
  EXPECT_EQ(top, (std::set<std::pair<int64_t, int64_t>>{{1, 2}, {2, 0}}));
  for (const HeadScore& h : result->head_ranking) {
    if (h.layer == 1 && h.head == 2) EXPECT_NEAR(h.val_auc, positive_truth, 0.02);
    if (h.layer == 2 && h.head == 0) EXPECT_NEAR(h.val_auc, negative_truth, 0.02);
    const bool planted = (h.layer == 1 && h.head == 2) || (h.layer == 2 && h.head == 0);
    if (!planted) {  // a fitted sign never turns a head below chance on held-out graphs
      EXPECT_GT(h.val_auc, 0.4) << h.layer << "." << h.head;
      EXPECT_LT(h.val_auc, 0.6) << h.layer << "." << h.head;
    }
  }
  // The selected head's test AUC is near its truth, and its F1 uses a validation threshold.
  EXPECT_GT(result->test.auc, 0.85);
  EXPECT_GT(result->test.f1, 0.6);

  // The per-layer probe: layers 1 and 2 carry the edges, layer 0 does not.
  o.probe.kind = "logreg-layer";
  auto layers = TrainProbe(data, o);
  ASSERT_TRUE(layers.ok()) << layers.status();
  ASSERT_EQ(layers->head_ranking.size(), 3u);
  EXPECT_EQ(layers->head_ranking[2].layer, 0);
  EXPECT_EQ(layers->head_ranking[0].head, -1);
  EXPECT_GT(layers->head_ranking[1].val_auc, 0.85);
  EXPECT_LT(layers->head_ranking[2].val_auc, 0.6);
}

TEST(LogisticProbeTest, NewtonReachesTheOptimumWhateverTheScale) {
  // One feature, labels from a known logistic model: the fit recovers its weight and bias.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor x = at::randn({2, 20000, 1}, gen) * at::tensor({1.0, 100.0}).view({2, 1, 1});
  const at::Tensor p = at::sigmoid(2.0 * x.select(0, 0).squeeze(1) - 1.0);
  const at::Tensor y = (at::rand({20000}, gen) < p).to(at::kDouble);
  const LogisticFit fit = FitLogisticGroups(x, y, at::ones({20000}), /*l2=*/0.0);
  EXPECT_TRUE(fit.converged);
  EXPECT_NEAR(fit.weight[0][0].item<double>(), 2.0, 0.1);
  EXPECT_NEAR(fit.bias[0].item<double>(), -1.0, 0.1);
  // The same data scaled by 100: the weight scales by 1/100.
  const LogisticFit scaled =
      FitLogisticGroups((x.select(0, 0) * 100).unsqueeze(0), y, at::ones({20000}), /*l2=*/0.0);
  EXPECT_NEAR(scaled.weight[0][0].item<double>(), 0.02, 0.001);
}

TEST(ControlTaskTest, NamesOnlyFeaturesPassTheControlAndFailTheRealTask) {
  // Features carry only the two names (one-hot each): no edge information at all.
  ProbeDataset names = Planted(400, 6, 20, 0.0, false, 21);
  names.features.zero_();
  for (int64_t g = 0; g < 400; ++g) {
    for (int64_t i = 0; i < 6; ++i) {
      for (int64_t j = 0; j < 6; ++j) {
        names.features[g][i][j][names.node_name_id[g][i].item<int64_t>()] = 1;
        names.features[g][i][j][10 + names.node_name_id[g][j].item<int64_t>()] = 1;
      }
    }
  }
  TrainOptions o = Quick("pair-mlp");
  o.probe.hidden = 64;
  o.epochs = 80;
  auto real = TrainProbe(names, o);
  ASSERT_TRUE(real.ok()) << real.status();
  EXPECT_GT(real->test.auc, 0.35);
  EXPECT_LT(real->test.auc, 0.65);
  o.control = ProbeControl::kControlTask;
  auto control = TrainProbe(names, o);
  ASSERT_TRUE(control.ok()) << control.status();
  // Memorising 45 name pairs carries over to test graphs: the control can be passed.
  EXPECT_GT(control->test.auc, 0.85);
  EXPECT_LE(control->test.auc, 1.0);
  // Its labels have the real edge density and depend on the names only.
  const double real_density = names.adjacency.to(at::kFloat).sum().item<double>() / (400 * 15);
  const double control_density = control->labels_used.sum().item<double>() / (400 * 15);
  EXPECT_NEAR(control_density, real_density, 0.1);
}

TEST(ControlTaskTest, EdgeFeaturesPassTheRealTaskAndFailTheControl) {
  const ProbeDataset edges = Planted(300, 6, 8, 0.15, true, 22);
  TrainOptions o = Quick("pair-mlp");
  auto real = TrainProbe(edges, o);
  ASSERT_TRUE(real.ok());
  EXPECT_GT(real->test.auc, 0.97);
  o.control = ProbeControl::kControlTask;
  auto control = TrainProbe(edges, o);
  ASSERT_TRUE(control.ok()) << control.status();
  EXPECT_GT(control->test.auc, 0.35);
  EXPECT_LT(control->test.auc, 0.65);
  ProbeDataset nameless = edges;
  nameless.node_name_id = at::Tensor();
  auto missing = TrainProbe(nameless, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("'node_name_id'"), std::string::npos);
}

TEST(TrainerTest, SameSeedSameResultsWhateverTheGlobalGenerator) {
  const ProbeDataset data = Planted(200, 5, 8, 0.5, true, 4);
  TrainOptions o = Quick("pair-mlp");
  o.probe.dropout = 0.3;
  o.epochs = 8;
  at::manual_seed(1);
  auto a = TrainProbe(data, o);
  at::manual_seed(999);  // the training draws from its own generators only
  auto b = TrainProbe(data, o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test.f1, b->test.f1);
  EXPECT_EQ(a->history.back().train_loss, b->history.back().train_loss);
  o.seed = 43;
  auto c = TrainProbe(data, o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->history.back().train_loss, c->history.back().train_loss);
}

TEST(TrainerTest, PositionalBaselineSeesOnlyMentionOffsets) {
  // Edges join nodes mentioned next to each other; the attention features are pure noise.
  ProbeDataset data = Planted(200, 6, 4, 0.3, false, 6);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  data.position_features = at::zeros({200, 6, 6, 2});
  data.adjacency = at::zeros({200, 6, 6}, at::kByte);
  for (int64_t g = 0; g < 200; ++g) {
    const at::Tensor order = at::randperm(6, gen, at::kLong);
    for (int64_t a = 0; a < 6; ++a) {
      for (int64_t b = 0; b < 6; ++b) {
        const int64_t i = order[a].item<int64_t>(), j = order[b].item<int64_t>();
        data.position_features[g][i][j][0] = static_cast<float>(b - a);
        data.position_features[g][i][j][1] = b - a == 1 ? 1.0f : 0.0f;
      }
    }
    for (int64_t k = 0; k + 1 < 6; ++k)
      data.adjacency[g][order[k].item<int64_t>()][order[k + 1].item<int64_t>()] = 1;
  }
  TrainOptions o = Quick("pair-mlp");
  o.control = ProbeControl::kPositional;
  auto baseline = TrainProbe(data, o);
  ASSERT_TRUE(baseline.ok()) << baseline.status();
  EXPECT_GT(baseline->test.f1, 0.95);
  auto attention = TrainProbe(data, Quick("pair-mlp"));  // the noise features know nothing
  ASSERT_TRUE(attention.ok());
  EXPECT_LT(attention->test.auc, 0.65);
  EXPECT_GT(attention->test.auc, 0.35);
  data.position_features = at::Tensor();
  auto missing = TrainProbe(data, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'position_features'"), std::string::npos);
}

TEST(StatisticsTest, BootstrapIntervalsShrinkWithMoreGraphs) {
  TrainOptions o = Quick("logreg-head");
  o.bootstrap_resamples = 500;
  auto small = TrainProbe(Planted(100, 6, 8, 1.0, true, 8), o);
  auto large = TrainProbe(Planted(1600, 6, 8, 1.0, true, 8), o);
  ASSERT_TRUE(small.ok() && large.ok());
  const double small_width = small->test_interval.f1_high - small->test_interval.f1_low;
  const double large_width = large->test_interval.f1_high - large->test_interval.f1_low;
  EXPECT_GT(large_width, 0);
  // 16x the graphs: about a quarter of the width; at most half allows for noise.
  EXPECT_LT(large_width, 0.5 * small_width);
  EXPECT_LT(large->test_interval.auc_high - large->test_interval.auc_low,
            0.5 * (small->test_interval.auc_high - small->test_interval.auc_low));
}

TEST(MetricsTest, HandComputedPairsAucAndThreshold) {
  // One graph of 3 nodes, edge 0 -> 1. Undirected pairs: (0,1)=1, (0,2)=0, (1,2)=0.
  at::Tensor adjacency = at::zeros({1, 3, 3}, at::kByte);
  adjacency[0][0][1] = 1;
  at::Tensor logits = at::full({1, 3, 3}, -2.0);
  logits[0][1][0] = 4.0;  // the reverse direction alone: mean (4 - 2) / 2 = 1 > 0
  EdgeMetrics m = ComputeEdgeMetrics(
      PairsForTask(logits, adjacency, at::ones({1, 3}, at::kBool), ProbeTask::kUndirected));
  EXPECT_EQ(m.pairs, 3);
  EXPECT_DOUBLE_EQ(m.f1, 1.0);
  EXPECT_DOUBLE_EQ(m.exact, 1.0);
  EXPECT_DOUBLE_EQ(EdgeMetrics::FromJson(m.ToJson()).exact, 1.0);  // resume reads what it wrote
  EdgeMetrics d = ComputeEdgeMetrics(
      PairsForTask(logits, adjacency, at::ones({1, 3}, at::kBool), ProbeTask::kDirected));
  EXPECT_EQ(d.pairs, 6);
  EXPECT_DOUBLE_EQ(d.recall, 0.0);  // directed: 0 -> 1 scored -2
  EXPECT_DOUBLE_EQ(RocAuc(at::tensor({0.1, 0.4, 0.35, 0.8}), at::tensor({0.0, 0.0, 1.0, 1.0})),
                   0.75);
  // Scores 5, 3, 1, -1 with labels 1, 0, 1, 0: predicting the top three gives F1 0.8, the best.
  TaskPairs pairs;
  pairs.logits = at::tensor({5.0, 3.0, 1.0, -1.0}).view({1, 4});
  pairs.labels = at::tensor({1.0, 0.0, 1.0, 0.0}).view({1, 4});
  pairs.valid = at::ones({1, 4}, at::kBool);
  const F1Threshold t = BestF1Threshold(pairs);
  EXPECT_DOUBLE_EQ(t.f1, 0.8);
  EXPECT_DOUBLE_EQ(t.logit, 0.0);
}

TEST(DatasetValidationTest, BadDatasetsAndOptionsAreClearErrors) {
  const ProbeDataset good = Planted(40, 4, 3, 0.3, true, 5);
  ASSERT_TRUE(ValidateProbeDataset(good, "d").ok());
  ProbeDataset shape = good;
  shape.adjacency = good.adjacency.narrow(1, 0, 3);
  EXPECT_NE(ValidateProbeDataset(shape, "d").message().find("'adjacency' must be [40, 4, 4]"),
            std::string::npos);
  ProbeDataset empty = good;
  empty.split = at::zeros({40}, at::kByte);
  EXPECT_NE(ValidateProbeDataset(empty, "d").message().find("the validation split is empty"),
            std::string::npos);
  ProbeDataset zeros = good;
  zeros.adjacency = at::zeros_like(good.adjacency);
  EXPECT_NE(ValidateProbeDataset(zeros, "d").message().find("all labels are zero"),
            std::string::npos);
  ProbeDataset names = good;
  names.node_name_id = at::zeros({40, 3}, at::kLong);
  EXPECT_NE(ValidateProbeDataset(names, "d").message().find("'node_name_id' must be [40, 4]"),
            std::string::npos);
  auto missing =
      LoadProbeDataset(std::string(GP_TEST_DATA) + "/hf-reference/gcn_golden.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("missing tensor 'features'"), std::string::npos);
  auto unknown = MakeProbe({"transformer"}, 4, 3, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("probe 'transformer': unknown"), std::string::npos);
  TrainOptions o = Quick("pair-mlp");
  o.epochs = 0;
  auto epochs = TrainProbe(good, o);
  ASSERT_FALSE(epochs.ok());
  EXPECT_EQ(epochs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(epochs.status().message(), "epochs 0: expected 1..100000");  // a field, not a flag
  o = Quick("pair-mlp");
  o.weight_decay = -1;
  EXPECT_TRUE(HasStatus(TrainProbe(good, o), absl::StatusCode::kInvalidArgument,
                        "weight_decay -1: expected [0, 10]"));
  auto control = ParseProbeControl("shuffle");
  ASSERT_FALSE(control.ok());
  EXPECT_NE(control.status().message().find("control 'shuffle'"), std::string::npos);
}

}  // namespace
}  // namespace gp
