// The single-machine ablation runner on a reference checkpoint: result files, resume after an
// interruption (including a torn last line), and refusal to mix another spec's results.
#include "common/ablation/ablation_runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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
  int finished = 0;
  auto first = RunAblation(spec_, options_, [&](const AblationProgress& p) {
    finished += p.finished != nullptr;
    EXPECT_EQ(p.cells_total, 2 * (2 * 3 + 1));
  });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 14u);
  EXPECT_EQ(finished, 14);
  for (const char* f : {"results.csv", "results.json", "results.jsonl", "spec.json",
                        "heads-tiny.csv", "heads-model-random.csv"}) {
    EXPECT_TRUE(fs::exists(fs::path(options_.out_dir) / f)) << f;
  }
  auto json = ReadJsonFile((fs::path(options_.out_dir) / "results.json").string());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["cells"].size(), 14u);
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
    for (size_t i = 0; i < 10; ++i) out << lines[i] << "\n";
    out << lines[10].substr(0, 20);
  }
  int resumed = -1;
  finished = 0;
  auto second = RunAblation(spec_, options_, [&](const AblationProgress& p) {
    resumed = p.cells_resumed;
    finished += p.finished != nullptr;
  });
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(resumed, 10);
  EXPECT_EQ(finished, 4);
  ASSERT_EQ(second->size(), 14u);
  for (size_t i = 0; i < 14; ++i) {
    EXPECT_EQ((*second)[i].cell_id, (*first)[i].cell_id);
    // Same data, seeds and code: the re-run cells reproduce the interrupted ones.
    EXPECT_DOUBLE_EQ((*second)[i].test.f1, (*first)[i].test.f1) << (*first)[i].cell_id;
  }
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
