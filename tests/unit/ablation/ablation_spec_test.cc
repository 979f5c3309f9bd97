// Ablation specs: strict parsing with errors that name the field, and grid expansion.
#include "common/ablation/ablation_spec.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"

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
  json["feature_modes"] = {"raw", "topk:2", "argmax+drop-sink+max+both"};
  json["permutations"] = {1, 3};
  json["probes"] = {"gcn"};
  json["seeds"] = {7};
  json["dataset_sizes"] = {50};
  json["controls"] = {{"label_shuffle", true}, {"control_task", false}};
  json["probe_training"] = {{"epochs", 5}, {"hidden", 16}, {"task", "directed"}};
  json["extraction"] = {{"batch_size", 4}, {"dtype", "bfloat16"}, {"device", "cuda:1"}};
  auto spec = ParseAblationSpec(json, "spec.json", "/base");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->models[0].path, "/base/models/m");
  EXPECT_EQ(spec->models[1].name, "toy-random");
  EXPECT_TRUE(spec->models[1].random_init);
  EXPECT_EQ(spec->graph_sizes, (std::vector<int>{5, 9}));
  EXPECT_FALSE(spec->node_header);
  EXPECT_EQ(spec->feature_modes[1].top_k, 2);
  // Every option `graphprobe dataset` has can be named in a spec.
  const FeatureOptions& options = spec->feature_modes[2];
  EXPECT_EQ(options.mode, FeatureMode::kArgmax);
  EXPECT_TRUE(options.drop_sink);
  EXPECT_EQ(options.aggregation, MentionAggregation::kMax);
  EXPECT_TRUE(options.both_directions);
  EXPECT_EQ(FeatureModeName(options), "argmax+drop-sink+max+both");
  EXPECT_EQ(spec->dtype, "bfloat16");
  EXPECT_EQ(spec->device, "cuda:1");
  EXPECT_EQ(spec->probe_training.epochs, 5);
  EXPECT_EQ(spec->probe_training.task, ProbeTask::kDirected);
  EXPECT_EQ(spec->probe_training.positive_weight, 0);  // the ablation default: balanced
  EXPECT_TRUE(spec->label_shuffle_control);
  EXPECT_FALSE(spec->control_task);
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
  EXPECT_NE(ErrorOf(with("feature_modes", {"raw+sink"})).find("unknown option '+sink'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("feature_modes", {"raw", "argmax", "raw"}))
                .find("field 'feature_modes[2]': 'raw' named twice"),
            std::string::npos);
  nlohmann::json modes = nlohmann::json::array();
  for (int k = 1; k <= kMaxFeatureModesPerFamily + 1; ++k)
    modes.push_back(absl::StrCat("topk:", k));
  EXPECT_NE(ErrorOf(with("feature_modes", modes)).find("65 modes, over the limit of 64"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("extraction", {{"dtype", "float16"}})).find("field 'dtype'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with("extraction", {{"device", "tpu"}})).find("field 'device'"),
            std::string::npos);
  // A grid over the documented limit: 40000 seeds x 3 cells.
  std::vector<int> many(40000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int>(i);
  EXPECT_NE(ErrorOf(with("seeds", many)).find("over the limit of 100000"), std::string::npos);
  nlohmann::json twins = MinimalSpec();
  twins["models"].push_back({{"name", "m"}, {"path", "other"}});
  EXPECT_NE(ErrorOf(twins).find("two models are named 'm'"), std::string::npos);
  EXPECT_NE(ErrorOf(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
}

TEST(AblationSpecTest, ExpandsTheGridWithControlsAndUniqueIds) {
  const AblationSpec spec = DefaultAblationSpec("/models/graph-toy");
  const std::vector<AblationCell> cells = ExpandAblation(spec);
  // 2 models x 3 seeds x 2 sizes x 3 notations = 36 graph settings; each has 2 modes x
  // (4 probes + each on the control task) cells and one positional-baseline cell.
  EXPECT_EQ(cells.size(), 36u * (2 * 8 + 1));
  int control_task = 0, positional = 0;
  std::set<std::string> ids, datasets;
  for (const AblationCell& cell : cells) {
    EXPECT_TRUE(ids.insert(cell.id).second) << cell.id;
    datasets.insert(cell.dataset_id);
    EXPECT_EQ(cell.training.probe.kind, cell.probe);
    EXPECT_EQ(cell.training.control, cell.control);
    control_task += cell.control == ProbeControl::kControlTask;
    positional += cell.control == ProbeControl::kPositional;
    EXPECT_EQ(cell.dataset.random_init, cell.model_name == "graph-toy-random");
    EXPECT_TRUE(cell.dataset.prompt.node_header);
  }
  EXPECT_EQ(datasets.size(), 36u * 2);
  EXPECT_EQ(control_task, 36 * 2 * 4);
  EXPECT_EQ(positional, 36);
  // Raw attention and top-3 with the sink dropped; the notation whose layout says nothing.
  EXPECT_EQ(FeatureModeName(spec.feature_modes[0]), "raw");
  EXPECT_EQ(FeatureModeName(spec.feature_modes[1]), "topk:3+drop-sink");
  EXPECT_EQ(spec.notations.back(), Notation::kLabels);
  // The cells of a dataset are adjacent, so each dataset is built and loaded once.
  std::set<std::string> seen;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0 && cells[i].dataset_id == cells[i - 1].dataset_id) continue;
    EXPECT_TRUE(seen.insert(cells[i].dataset_id).second) << cells[i].dataset_id;
  }
}

}  // namespace
}  // namespace gp
