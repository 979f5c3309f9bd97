// The single-machine ablation runner on a reference checkpoint: result files, resume after an
// interruption (including a torn last line), and refusal to mix another spec's results.
#include "common/ablation/ablation_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/ablation/attention_sample.h"
#include "common/core/json_file.h"
#include "tests/unit/ablation/tiny_model_dir.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

class AblationRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTinyModelScratchDir("gp_ablation_");
    nlohmann::json json = {
        {"models",
         {{{"name", "tiny"}, {"path", "model"}}, {{"path", "model"}, {"random_init", true}}}},
        {"graph_sizes", {4}},
        {"feature_modes", {"raw", "argmax"}},
        {"probes", {"pair-mlp", "logreg-head"}},
        {"dataset_sizes", {24}},
        {"probe_training", {{"epochs", 3}, {"hidden", 8}}}};
    auto spec = ParseAblationSpec(json, "test spec", dir_.string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec_ = *spec;
    options_.out_dir = (dir_ / "out").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  AblationSpec spec_;
  AblationRunOptions options_;
};

TEST_F(AblationRunnerTest, WritesResultsAndResumes) {
  int finished = 0, datasets_built = 0;
  auto first = RunAblation(spec_, options_, [&](const AblationProgress& p) {
    finished += p.finished != nullptr;
    datasets_built += p.stage == "dataset";
    // Per model: 2 modes x (2 probes + 2 on the control task) + 1 positional.
    EXPECT_EQ(p.cells_total, 2 * (2 * 4 + 1));
  });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 18u);
  EXPECT_EQ(finished, 18);
  // Extract once, pool many: both modes of a model come from one forward pass.
  EXPECT_EQ(datasets_built, 2);
  for (const char* f : {"results.csv", "summary.csv", "results.json", "results.jsonl", "spec.json",
                        "heads-tiny.csv", "heads-model-random.csv"}) {
    EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / f)) << f;
  }
  auto json = ReadJsonFile((fs::path(options_.out_dir) / "results.json").string());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["cells"].size(), 18u);
  // tiny-llama3: 2 layers x 4 heads ranked.
  EXPECT_EQ((*json)["head_ranking"]["tiny"].size(), 8u);

  // An interrupted run: the log lost its last cells and ends in a torn line.
  const fs::path log = fs::path(options_.out_dir) / "results.jsonl";
  std::vector<std::string> lines;
  {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  {
    std::ofstream out(log, std::ios::trunc);
    for (size_t i = 0; i < 14; ++i) out << lines[i] << "\n";
    out << lines[14].substr(0, 20);
  }
  int resumed = -1;
  finished = 0;
  auto second = RunAblation(spec_, options_, [&](const AblationProgress& p) {
    resumed = p.cells_resumed;
    finished += p.finished != nullptr;
  });
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(resumed, 14);
  EXPECT_EQ(finished, 4);
  ASSERT_EQ(second->size(), 18u);
  for (size_t i = 0; i < 18; ++i) {
    EXPECT_EQ((*second)[i].cell_id, (*first)[i].cell_id);
    // Same data, seeds and code: the re-run cells reproduce the interrupted ones, and the
    // resumed ones read back every metric they logged.
    EXPECT_DOUBLE_EQ((*second)[i].test.f1, (*first)[i].test.f1) << (*first)[i].cell_id;
    EXPECT_DOUBLE_EQ((*second)[i].test.exact, (*first)[i].test.exact) << (*first)[i].cell_id;
    EXPECT_DOUBLE_EQ((*second)[i].test_interval.f1_low, (*first)[i].test_interval.f1_low);
  }
}

TEST(CellResultTest, RoundTripsEveryMetricThroughTheLog) {
  CellResult r;
  r.cell_id = "m/n7/pair-mlp";
  r.test.exact = 0.25;
  r.test.f1 = 0.5;
  r.val.exact = 0.125;
  r.test_interval.f1_low = 0.4;
  r.test_interval.auc_high = 0.9;
  r.head_ranking = {{1, 2, 0.6, 0.8}};
  auto back = CellResult::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->test.exact, 0.25);  // written as exact_graphs, read as exact_graphs
  EXPECT_EQ(back->val.exact, 0.125);
  EXPECT_EQ(back->test_interval.f1_low, 0.4);
  EXPECT_EQ(back->test_interval.auc_high, 0.9);
  EXPECT_EQ(back->head_ranking[0].val_auc, 0.8);
  EXPECT_EQ(back->ToJson(), r.ToJson());
  nlohmann::json broken = r.ToJson();
  broken.erase("test");
  auto error = CellResult::FromJson(broken);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(error.status().message().find("test"), std::string::npos);
}

TEST(ResultTablesTest, SelectionUsesValidationAndIntervalsSpanTheSeeds) {
  std::vector<CellResult> cells;
  const auto add = [&](const std::string& probe, const std::string& control, uint64_t seed,
                       double val_f1, double test_f1) {
    CellResult r;
    r.model = "m";
    r.graph_size = 7;
    r.probe = probe;
    r.control = control;
    r.seed = seed;
    r.dataset_id = absl::StrCat("m/n7-s", seed);
    r.cell_id = absl::StrCat(r.dataset_id, "/", probe, "/", control);
    r.val.f1 = val_f1;
    r.test.f1 = test_f1;
    cells.push_back(r);
  };
  for (uint64_t seed : {1, 2, 3}) {
    add("gcn", "", seed, 0.80, 0.60 + 0.01 * seed);  // best on validation
    add("pair-mlp", "", seed, 0.70, 0.90);           // best on test: never chosen for it
    add("gcn", "control-task", seed, 0.5, 0.40);
  }
  const std::vector<ConfigSummary> summaries = SummarizeOverSeeds(cells);
  ASSERT_EQ(summaries.size(), 3u);
  auto best = BestByValidation(summaries, "m", 7);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->settings.probe, "gcn");
  EXPECT_NEAR(best->test_f1, 0.62, 1e-12);
  // t-interval over 3 seeds: mean 0.62, sd 0.01, half-width 4.303 * 0.01 / sqrt(3).
  EXPECT_NEAR(best->test_f1_high - best->test_f1, 4.303 * 0.01 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(best->test_f1 - best->test_f1_low, 4.303 * 0.01 / std::sqrt(3.0), 1e-6);
  ASSERT_TRUE(best->selectivity_f1.has_value());
  EXPECT_NEAR(*best->selectivity_f1, 0.22, 1e-12);
  auto control = ControlOf(summaries, *best, "control-task");
  ASSERT_TRUE(control.has_value());
  EXPECT_NEAR(control->test_f1, 0.40, 1e-12);
  EXPECT_FALSE(BestByValidation(summaries, "other", 7).has_value());
}

TEST(ResultTablesTest, HeadRankingAveragesOverCellsAndFiltersByNotation) {
  std::vector<CellResult> results;
  const auto add = [&](const std::string& notation, const std::string& control, double auc_a,
                       double auc_b) {
    CellResult r;
    r.model = "m";
    r.probe = "logreg-head";
    r.notation = notation;
    r.control = control;
    r.head_ranking = {HeadScore{1, 3, 0, auc_a}, HeadScore{2, 2, 0, auc_b}};
    results.push_back(r);
  };
  add("parents", "", 0.99, 0.50);
  add("labels", "", 0.50, 0.97);
  add("labels", "control-task", 1.0, 0.0);  // controls never count
  const std::vector<HeadScore> all = ModelHeadRanking(results, "m");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].layer, 1);  // (0.99 + 0.50) / 2 above (0.50 + 0.97) / 2
  EXPECT_NEAR(all[0].val_auc, 0.745, 1e-12);
  // Within one notation the order is that notation's own.
  const std::vector<HeadScore> labels = ModelHeadRanking(results, "m", "logreg-head", "labels");
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0].layer, 2);
  EXPECT_EQ(labels[0].head, 2);
  EXPECT_NEAR(labels[0].val_auc, 0.97, 1e-12);
  EXPECT_TRUE(ModelHeadRanking(results, "m", "logreg-head", "arrow").empty());
}

TEST(AttentionSampleTest, ShowsTheDatasetValidationSelects) {
  std::vector<AblationCell> cells;
  const auto add_cell = [&](const std::string& model, const std::string& dataset,
                            ProbeControl control) {
    AblationCell cell;
    cell.model_name = model;
    cell.dataset_id = dataset;
    cell.control = control;
    cells.push_back(cell);
  };
  add_cell("m", "m/arrow-s1", ProbeControl::kControlTask);  // a control is never the sample
  add_cell("m", "m/arrow-s1", ProbeControl::kNone);
  add_cell("m", "m/labels-s1", ProbeControl::kNone);
  add_cell("m", "m/labels-s2", ProbeControl::kNone);
  std::vector<CellResult> results;
  for (const auto& [dataset, notation, seed, val_f1] :
       std::vector<std::tuple<std::string, std::string, uint64_t, double>>{
           {"m/arrow-s1", "arrow", 1, 0.80},
           {"m/labels-s1", "labels", 1, 0.95},
           {"m/labels-s2", "labels", 2, 0.97}}) {
    CellResult r;
    r.model = "m";
    r.graph_size = 7;
    r.probe = "gcn";
    r.notation = notation;
    r.seed = seed;
    r.dataset_id = dataset;
    r.cell_id = dataset + "/gcn";
    r.val.f1 = val_f1;
    results.push_back(r);
  }
  const std::vector<ConfigSummary> summaries = SummarizeOverSeeds(results);
  const AblationCell* sample = SampleCellOf(cells, summaries, "m");
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->dataset_id, "m/labels-s1");  // the selected configuration's first seed
  // Without results the first real-task cell; a model without cells has no sample.
  sample = SampleCellOf(cells, {}, "m");
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->dataset_id, "m/arrow-s1");
  EXPECT_EQ(sample->control, ProbeControl::kNone);
  EXPECT_EQ(SampleCellOf(cells, summaries, "other"), nullptr);
}

TEST_F(AblationRunnerTest, RefusesAnOutputDirectoryOfAnotherSpec) {
  spec_.models.pop_back();
  spec_.feature_modes.pop_back();
  spec_.probes = {"logreg-head"};
  ASSERT_TRUE(RunAblation(spec_, options_).ok());
  spec_.graph_sizes = {5};
  auto other = RunAblation(spec_, options_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("different spec"), std::string::npos);
}

TEST_F(AblationRunnerTest, AMissingModelNamesTheCell) {
  spec_.models[0].path = (dir_ / "nowhere").string();
  auto result = RunAblation(spec_, options_);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("tiny/n4"), std::string::npos) << result.status();
}

}  // namespace
}  // namespace gp
