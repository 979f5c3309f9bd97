// Ablation specs: strict parsing with errors that name the field, and grid expansion.
#include "common/ablation/ablation_spec.h"

#include <gtest/gtest.h>

#include <set>

namespace gp {
namespace {

nlohmann::json MinimalSpec() { return {{"models", {{{"name", "m"}, {"path", "models/m"}}}}}; }

std::string ErrorOf(const nlohmann::json& json) {
  auto spec = ParseAblationSpec(json, "spec.json", "/base");
  EXPECT_FALSE(spec.ok()) << json.dump();
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

TEST(AblationSpecTest, ParsesEveryFieldAndResolvesRelativePaths) {
  nlohmann::json json = MinimalSpec();
  json["models"].push_back({{"path", "/abs/toy"}, {"random_init", true}, {"init_seed", 3}});
  json["graph_sizes"] = {5, 9};
  json["generators"] = {"tree"};
  json["notations"] = {"arrow", "parents"};
  json["node_header"] = false;
  json["names"] = {"integers"};
  json["feature_modes"] = {"raw", "topk:2"};
  json["permutations"] = {1, 3};
  json["probes"] = {"gcn"};
  json["seeds"] = {7};
  json["dataset_sizes"] = {50};
  json["controls"] = {{"label_shuffle", false}};
  json["probe_training"] = {{"epochs", 5}, {"hidden", 16}, {"task", "directed"}};
  json["extraction"] = {{"batch_size", 4}};
  auto spec = ParseAblationSpec(json, "spec.json", "/base");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->models[0].path, "/base/models/m");
  EXPECT_EQ(spec->models[1].name, "toy-random");
  EXPECT_TRUE(spec->models[1].random_init);
  EXPECT_EQ(spec->graph_sizes, (std::vector<int>{5, 9}));
  EXPECT_FALSE(spec->node_header);
  EXPECT_EQ(spec->feature_modes[1].top_k, 2);
  EXPECT_EQ(spec->probe_training.epochs, 5);
  EXPECT_EQ(spec->probe_training.task, ProbeTask::kDirected);
  EXPECT_EQ(spec->probe_training.positive_weight, 0);  // the ablation default: balanced
  EXPECT_FALSE(spec->label_shuffle_control);
  EXPECT_TRUE(spec->positional_baseline_control);
  // ToJson round-trips.
  auto again = ParseAblationSpec(spec->ToJson(), "again", "/elsewhere");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), spec->ToJson());
}

TEST(AblationSpecTest, BadSpecsNameTheField) {
  auto with = [](const char* field, nlohmann::json value) {
    nlohmann::json j = MinimalSpec();
    j[field] = std::move(value);
    return j;
  };
  EXPECT_NE(ErrorOf({{"graph_sizes", {7}}}).find("'models'"), std::string::npos);
  EXPECT_NE(ErrorOf(with("grpah_sizes", {7})).find("'grpah_sizes': unknown"), std::string::npos);
  EXPECT_NE(ErrorOf(with("graph_sizes", {7, 100})).find("graph_sizes[1]"), std::string::npos);
  EXPECT_NE(ErrorOf(with("graph_sizes", nlohmann::json::array())).find("non-empty"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("notations", {"arow"})).find("notations[0]"), std::string::npos);
  EXPECT_NE(ErrorOf(with("feature_modes", {"topk:0"})).find("feature_modes[0]"), std::string::npos);
  EXPECT_NE(ErrorOf(with("probes", {"svm"})).find("unknown probe 'svm'"), std::string::npos);
  EXPECT_NE(ErrorOf(with("permutations", {"4"})).find("permutations[0]"), std::string::npos);
  EXPECT_NE(ErrorOf(with("probe_training", {{"epochs", -1}})).find("epochs"), std::string::npos);
  EXPECT_NE(ErrorOf(with("controls", {{"shuffle", true}})).find("'shuffle'"), std::string::npos);
  nlohmann::json twins = MinimalSpec();
  twins["models"].push_back({{"name", "m"}, {"path", "other"}});
  EXPECT_NE(ErrorOf(twins).find("two models are named 'm'"), std::string::npos);
  EXPECT_NE(ErrorOf(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
}

TEST(AblationSpecTest, ExpandsTheGridWithControlsAndUniqueIds) {
  const AblationSpec spec = DefaultAblationSpec("/models/graph-toy");
  const std::vector<AblationCell> cells = ExpandAblation(spec);
  // 2 models x 3 sizes x 2 notations x 2 permutation counts = 24 graph settings; each has 3
  // modes x (3 probes + label shuffle) cells and one positional-baseline cell.
  EXPECT_EQ(cells.size(), 24u * (3 * 4 + 1));
  std::set<std::string> ids, datasets;
  for (const AblationCell& cell : cells) {
    EXPECT_TRUE(ids.insert(cell.id).second) << cell.id;
    datasets.insert(cell.dataset_id);
    EXPECT_EQ(cell.training.probe.kind, cell.probe);
    EXPECT_EQ(cell.training.label_shuffle, cell.control == CellControl::kLabelShuffle);
    EXPECT_EQ(cell.dataset.random_init, cell.model_name == "graph-toy-random");
    EXPECT_TRUE(cell.dataset.prompt.node_header);
  }
  EXPECT_EQ(datasets.size(), 24u * 3);
  // The cells of a dataset are adjacent, so each dataset is built and loaded once.
  std::set<std::string> seen;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0 && cells[i].dataset_id == cells[i - 1].dataset_id) continue;
    EXPECT_TRUE(seen.insert(cells[i].dataset_id).second) << cells[i].dataset_id;
  }
}

}  // namespace
}  // namespace gp
