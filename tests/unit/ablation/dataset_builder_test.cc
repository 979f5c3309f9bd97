// `graphprobe dataset` end to end on a reference checkpoint (tiny Llama 3 with a byte-level
// tokenizer.json): the file's contract, batching that changes nothing, resume, fixed splits.
#include "common/ablation/dataset_builder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/core/json_file.h"
#include "common/model/tensor_io.h"
#include "tests/unit/ablation/tiny_model_dir.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

class DatasetBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTinyModelScratchDir("gp_dataset_");
    spec_.model = (dir_ / "model").string();
    spec_.num_graphs = 12;
    spec_.generator.num_nodes = 5;
    spec_.prompt.node_header = true;
    spec_.permutations = 2;
    spec_.features = *ParseFeatureMode("topk:3", {});
    spec_.batch_size = 4;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::map<std::string, at::Tensor> Build(const DatasetSpec& spec, const std::string& name) {
    const std::string out = (dir_ / name).string();
    absl::Status status = BuildDataset(spec, out);
    EXPECT_TRUE(status.ok()) << status;
    auto tensors = ReadTensors(out);
    EXPECT_TRUE(tensors.ok());
    return *tensors;
  }
  fs::path dir_;
  DatasetSpec spec_;
};

TEST_F(DatasetBuilderTest, WritesTheDatasetContract) {
  auto d = Build(spec_, "a.safetensors");
  EXPECT_EQ(d["features"].sizes(), (std::vector<int64_t>{12, 5, 5, 2 * 4}));
  EXPECT_EQ(d["features"].scalar_type(), at::kFloat);
  EXPECT_EQ(d["adjacency"].sizes(), (std::vector<int64_t>{12, 5, 5}));
  EXPECT_EQ(d["adjacency"].scalar_type(), at::kByte);
  EXPECT_GT(d["adjacency"].sum().item<int64_t>(), 0);
  EXPECT_EQ(d["adjacency"].diagonal(0, 1, 2).sum().item<int64_t>(), 0);
  EXPECT_TRUE(at::equal(d["node_mask"], at::ones({12, 5}, at::kByte)));
  EXPECT_TRUE(at::equal(d["graph_id"], at::arange(12, at::kLong)));
  // Mean token index of each node: inside the prompt, distinct nodes at distinct places.
  EXPECT_EQ(d["node_position"].sizes(), (std::vector<int64_t>{12, 5}));
  EXPECT_GT(d["node_position"].min().item<float>(), 0.0f);
  EXPECT_LE(d["split"].max().item<int64_t>(), 2);
  EXPECT_TRUE(at::isfinite(d["features"]).all().item<bool>());
  // topk:3 keeps three keys per query row, so a node's outgoing features sum to at most 3.
  EXPECT_LE(d["features"].sum(1).max().item<float>(), 3.0f + 1e-4f);

  auto file = SafetensorsFile::Open((dir_ / "a.safetensors").string());
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata().at("format"), "graphprobe-dataset-v1");
  auto spec = nlohmann::json::parse(file->metadata().at("spec"));
  EXPECT_EQ(spec["mode"], "topk:3");
  EXPECT_EQ(spec["permutations"], 2);
  EXPECT_EQ(spec["feature_order"]["layers"], 2);
  EXPECT_EQ(spec["feature_order"]["heads"], 4);
  EXPECT_FALSE(fs::exists(dir_ / "a.safetensors.partial"));
}

TEST_F(DatasetBuilderTest, BatchingAndPaddingChangeNothing) {
  auto a = Build(spec_, "a.safetensors");
  DatasetSpec one = spec_;
  one.batch_size = 1;
  auto b = Build(one, "b.safetensors");
  EXPECT_TRUE(at::allclose(a["features"], b["features"], 1e-5, 1e-6));
  EXPECT_TRUE(at::equal(a["adjacency"], b["adjacency"]));
}

TEST_F(DatasetBuilderTest, SplitsAreFixedByGraphIdAcrossModesAndModels) {
  auto a = Build(spec_, "a.safetensors");
  DatasetSpec other = spec_;
  other.features = *ParseFeatureMode("argmax", {});
  other.random_init = true;
  auto b = Build(other, "b.safetensors");
  EXPECT_TRUE(at::equal(a["split"], b["split"]));
  EXPECT_TRUE(at::equal(a["adjacency"], b["adjacency"]));
  EXPECT_FALSE(at::allclose(a["features"], b["features"]));
}

TEST_F(DatasetBuilderTest, ResumesFromTheCheckpointOfAStoppedRun) {
  auto full = Build(spec_, "full.safetensors");
  // What a run stopped after 5 graphs leaves behind.
  nlohmann::json meta = spec_.ToJson();
  meta["feature_order"] = {{"layers", 2}};
  const std::string out = (dir_ / "resumed.safetensors").string();
  ASSERT_TRUE(WriteTensors(out + ".partial",
                           {{"features", full["features"].narrow(0, 0, 5)},
                            {"adjacency", full["adjacency"].narrow(0, 0, 5)},
                            {"node_position", full["node_position"].narrow(0, 0, 5)}},
                           {{"spec", meta.dump()}, {"format", "graphprobe-dataset-v1"}})
                  .ok());
  int resumed_from = -1;
  ASSERT_TRUE(BuildDataset(spec_, out, [&](const DatasetProgress& p) {
                resumed_from = p.resumed_from;
              }).ok());
  EXPECT_EQ(resumed_from, 5);
  auto resumed = ReadTensors(out);
  ASSERT_TRUE(resumed.ok());
  EXPECT_TRUE(at::allclose(resumed->at("features"), full["features"], 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(resumed->at("node_position"), full["node_position"]));
}

TEST_F(DatasetBuilderTest, ClearErrors) {
  DatasetSpec no_tokenizer = spec_;
  fs::remove(dir_ / "model/tokenizer.json");
  absl::Status status = BuildDataset(no_tokenizer, (dir_ / "x.safetensors").string());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("tokenizer.json"), std::string::npos);
  DatasetSpec bad = spec_;
  bad.permutations = 0;
  EXPECT_EQ(BuildDataset(bad, (dir_ / "x.safetensors").string()).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gp
