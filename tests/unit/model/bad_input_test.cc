// Broken checkpoints and bad forward inputs: each a clear error naming the problem, no crash.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/core/json_file.h"
#include "common/model/decoder_model.h"
#include "common/model/tensor_io.h"
#include "tests/unit/expect_status.h"
#include "tests/unit/model/model_test_util.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

// A writable copy of a reference checkpoint.
class BrokenCheckpoint {
 public:
  explicit BrokenCheckpoint(const std::string& name) {
    dir_ = fs::temp_directory_path() / ("gp_bad_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const char* f : {"config.json", "model.safetensors"}) {
      fs::copy_file(fs::path(testing::ReferenceModelDir(name)) / f, dir_ / f);
    }
  }
  ~BrokenCheckpoint() { fs::remove_all(dir_); }
  std::string dir() const { return dir_.string(); }
  std::string weights() const { return (dir_ / "model.safetensors").string(); }

  // Rewrites the weights without `drop`.
  void DropWeight(const std::string& drop) {
    auto tensors = ReadTensors(weights());
    ASSERT_TRUE(tensors.ok());
    std::vector<std::pair<std::string, at::Tensor>> kept;
    for (auto& [name, t] : *tensors) {
      if (name != drop) kept.emplace_back(name, t);
    }
    ASSERT_TRUE(WriteTensors(weights(), kept).ok());
  }
  void EditConfig(const std::string& field, const nlohmann::json& value) {
    auto json = ReadJsonFile(dir() + "/config.json");
    ASSERT_TRUE(json.ok());
    (*json)[field] = value;
    ASSERT_TRUE(WriteJsonFile(dir() + "/config.json", *json).ok());
  }

 private:
  fs::path dir_;
};

std::string LoadError(const std::string& dir) {
  auto model = DecoderModel::Load(dir, {});
  EXPECT_FALSE(model.ok());
  return model.ok() ? "" : std::string(model.status().message());
}

TEST(BadCheckpointTest, MissingWeightIsNamed) {
  BrokenCheckpoint checkpoint("tiny-llama3");
  checkpoint.DropWeight("model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(LoadError(checkpoint.dir()),
            checkpoint.dir() + ": missing weight 'model.layers.1.mlp.down_proj.weight'");
}

TEST(BadCheckpointTest, UntiedLmHeadMustBePresent) {
  BrokenCheckpoint checkpoint("tiny-qwen2");
  checkpoint.DropWeight("lm_head.weight");
  EXPECT_NE(LoadError(checkpoint.dir()).find("tie_word_embeddings is false"), std::string::npos);
}

TEST(BadCheckpointTest, ShapeDisagreeingWithConfig) {
  BrokenCheckpoint checkpoint("tiny-qwen2");
  checkpoint.EditConfig("intermediate_size", 64);
  EXPECT_NE(LoadError(checkpoint.dir())
                .find("weight 'model.layers.0.mlp.gate_proj.weight' has shape [96,48], "
                      "config.json implies [64,48]"),
            std::string::npos);
}

TEST(BadCheckpointTest, UnknownModelType) {
  BrokenCheckpoint checkpoint("tiny-gemma2");
  checkpoint.EditConfig("model_type", "gemma3");
  EXPECT_NE(LoadError(checkpoint.dir()).find("field 'model_type' is 'gemma3', unsupported"),
            std::string::npos);
}

TEST(BadCheckpointTest, TruncatedWeightsFileIsNamed) {
  BrokenCheckpoint checkpoint("tiny-gemma2");
  fs::resize_file(checkpoint.weights(), fs::file_size(checkpoint.weights()) / 2);
  const std::string error = LoadError(checkpoint.dir());
  EXPECT_NE(error.find(checkpoint.weights()), std::string::npos) << error;
  EXPECT_NE(error.find("past the data section"), std::string::npos) << error;
}

TEST(BadCheckpointTest, MissingDirectory) {
  auto model = DecoderModel::Load("/nonexistent/model", {});
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
}

class BadForwardInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = DecoderModel::Load(testing::ReferenceModelDir("tiny-llama3"), {});
    ASSERT_TRUE(model.ok());
    model_ = std::make_unique<DecoderModel>(*std::move(model));
  }
  std::string Error(const at::Tensor& ids, const at::Tensor& mask, ForwardOptions options = {}) {
    c10::InferenceMode inference;
    auto out = model_->Forward(ids, mask, options);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(out.status().message());
  }
  std::unique_ptr<DecoderModel> model_;
};

TEST_F(BadForwardInputTest, EachProblemIsNamed) {
  at::Tensor ids = at::ones({2, 5}, at::kLong), mask = at::ones({2, 5}, at::kLong);
  EXPECT_NE(Error(ids.to(at::kInt), mask).find("input_ids must be an int64 tensor"),
            std::string::npos);
  EXPECT_NE(Error(ids, mask.narrow(1, 0, 4)).find("shape of input_ids [2, 5]"), std::string::npos);
  at::Tensor big = ids.clone();
  big[1][3] = 512;
  EXPECT_NE(Error(big, mask).find("input_ids holds 512, outside the vocabulary [0, 512)"),
            std::string::npos);
  at::Tensor left_padded = mask.clone();
  left_padded[1][0] = 0;
  EXPECT_NE(Error(ids, left_padded).find("row 1 is not right-padded (a 1 after a 0 at position 1)"),
            std::string::npos);
  at::Tensor two = mask.clone();
  two[0][2] = 2;
  EXPECT_NE(Error(ids, two).find("attention_mask[0, 2] is 2"), std::string::npos);
  EXPECT_NE(Error(ids, at::zeros({2, 5}, at::kLong)).find("row 0 has no tokens"),
            std::string::npos);
  EXPECT_NE(Error(at::ones({0, 5}, at::kLong), at::ones({0, 5}, at::kLong)).find("empty"),
            std::string::npos);
  ForwardOptions positions;
  positions.capture = ForwardOptions::Capture::kPositions;
  positions.capture_positions = at::tensor({0, 5, 1, 2}, at::kLong).view({2, 2});
  EXPECT_NE(Error(ids, mask, positions).find("capture_positions must lie in [0, 5)"),
            std::string::npos);
  positions.capture_positions = at::Tensor();
  EXPECT_NE(Error(ids, mask, positions).find("capture_positions must be int64 [batch=2, K]"),
            std::string::npos);
}

TEST(ModelOptionsTest, ParsesDtypeAndDevice) {
  auto options = ParseModelOptions("bfloat16", "cpu");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->dtype, at::kBFloat16);
  EXPECT_TRUE(HasStatus(ParseModelOptions("float16", "cpu"), absl::StatusCode::kInvalidArgument,
                        "dtype 'float16'"));
  EXPECT_TRUE(HasStatus(ParseModelOptions("float32", "tpu"), absl::StatusCode::kInvalidArgument,
                        "device 'tpu'"));
  if (!at::hasCUDA()) {
    auto cuda = ParseModelOptions("float32", "cuda");
    ASSERT_FALSE(cuda.ok());
    EXPECT_NE(cuda.status().message().find("no CUDA device"), std::string::npos);
  }
}

}  // namespace
}  // namespace gp
