// The services' request checks (torch-free, also fuzzed): limits and non-finite numbers are
// refused with the field named, model paths stay under the model root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "services/extractor/extract_request.h"
#include "services/features/dataset_request.h"
#include "services/trainer/training_request.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

TEST(RequestChecksTest, TrainingJobRequestsAreCheckedFieldByField) {
  graphprobe::v1::CreateTrainingJobRequest request;
  request.set_dataset_key("0123456789abcdef");
  request.set_features_address("127.0.0.1:1");
  ASSERT_TRUE(CheckCreateTrainingJobRequest(request).ok());
  request.set_dataset_key("0123456789ABCDEF");
  EXPECT_EQ(CheckCreateTrainingJobRequest(request).status().message(),
            "dataset_key '0123456789ABCDEF': expected 16 hex digits");
  request.set_dataset_key("0123456789abcdef");
  request.mutable_options()->set_hidden(1 << 20);
  EXPECT_EQ(CheckCreateTrainingJobRequest(request).status().message(),
            "options.hidden 1048576: expected 1..65536");
  request.mutable_options()->set_hidden(0);  // the default
  request.mutable_options()->set_weight_decay(std::nan(""));
  EXPECT_EQ(CheckCreateTrainingJobRequest(request).status().message(),
            "options.weight_decay nan: expected [0, 10]");
}

TEST(RequestChecksTest, TooManyFeatureModesAreRefused) {
  graphprobe::v1::BuildDatasetRequest request;
  request.mutable_model()->set_path("m");
  request.set_num_graphs(10);
  for (int i = 0; i <= kMaxFeatureModesPerFamily; ++i) request.add_feature_modes("raw");
  const absl::StatusOr<std::vector<DatasetSpec>> specs = DatasetSpecsOf(request);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.status().message(), "feature_modes: 65, over the limit of 64");
}

TEST(RequestChecksTest, ModelPathsStayUnderTheRoot) {
  const fs::path dir = fs::temp_directory_path() / ("gp_request_root_" + std::to_string(getpid()));
  fs::create_directories(dir / "m");
  std::ofstream(dir / "m" / "config.json") << "{}";
  fs::create_directory_symlink("m", dir / "inside");
  fs::create_directory_symlink("/", dir / "escape");
  const std::string root = fs::canonical(dir).string();
  EXPECT_EQ(*ResolveModelPath(root, "m"), root + "/m");
  EXPECT_EQ(*ResolveModelPath(root, "inside"), root + "/m");
  for (const char* path : {"../m", "escape/etc", "m/../../x", "/etc"}) {
    const absl::StatusOr<std::string> resolved = ResolveModelPath(root, path);
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument) << path;
  }
  EXPECT_EQ(ResolveModelPath(root, "none").status().code(), absl::StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(RequestChecksTest, ExtractRequestsAreBoundedAndTyped) {
  graphprobe::v1::ExtractRequest request;
  EXPECT_EQ(CheckExtractRequest(request, 2)->wire, graphprobe::v1::DTYPE_F32);
  EXPECT_TRUE(CheckExtractRequest(request, 2)->pool.empty());
  for (int i = 0; i < 3; ++i) request.add_prompts();
  EXPECT_EQ(CheckExtractRequest(request, 2).status().code(), absl::StatusCode::kResourceExhausted);
  request.clear_prompts();
  request.set_wire_dtype(graphprobe::v1::DTYPE_I64);
  EXPECT_EQ(CheckExtractRequest(request, 2).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_wire_dtype(graphprobe::v1::DTYPE_BF16);
  EXPECT_EQ(CheckExtractRequest(request, 2)->wire, graphprobe::v1::DTYPE_BF16);
}

TEST(RequestChecksTest, PooledModesParseAndNeedTheTextForm) {
  graphprobe::v1::ExtractRequest request;
  request.add_pool("argmax+drop-sink");
  request.add_pool("topk:3+max+both");
  request.add_prompts()->set_text("A -> B");
  absl::StatusOr<ExtractReply> reply = CheckExtractRequest(request, 2);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->pool.size(), 2u);
  EXPECT_EQ(FeatureModeName(reply->pool[0]), "argmax+drop-sink");
  EXPECT_EQ(FeatureModeName(reply->pool[1]), "topk:3+max+both");
  request.add_pool("softmax");
  absl::Status bad = CheckExtractRequest(request, 2).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("pool[2] 'softmax'"), std::string::npos) << bad;
  request.mutable_pool()->RemoveLast();
  request.add_prompts()->add_ids(3);
  bad = CheckExtractRequest(request, 2).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("prompts[1]: pooling needs the text form"), std::string::npos)
      << bad;
  request.clear_prompts();
  for (int i = 0; i < kMaxPoolModes; ++i) request.add_pool("raw");
  EXPECT_EQ(CheckExtractRequest(request, 2).status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace gp
