// safetensors reader/writer: round trips, shards, and every kind of malformed header.
#include "common/core/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/core/json_file.h"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("gp_core_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// A file with an arbitrary header text and data bytes, for malformed cases.
void WriteRaw(const std::string& path, const std::string& header, const std::string& data,
              uint64_t header_len_override = 0) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header_len_override ? header_len_override : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header << data;
}

std::string OpenError(const std::string& path) {
  auto file = SafetensorsFile::Open(path);
  EXPECT_FALSE(file.ok());
  return file.ok() ? "" : std::string(file.status().message());
}

TEST(SafetensorsTest, RoundTripKeepsDtypesShapesBytesAndMetadata) {
  TempDir dir;
  const float f[6] = {1, 2, 3, 4, 5, 6};
  const int64_t ids[2] = {7, -8};
  const uint8_t mask[3] = {1, 0, 1};
  const uint16_t bf16[2] = {0x3f80, 0x4000};
  std::vector<NamedTensorView> tensors = {
      {"features", {DType::kF32, {2, 3}, reinterpret_cast<const uint8_t*>(f), sizeof(f)}},
      {"graph_id", {DType::kI64, {2}, reinterpret_cast<const uint8_t*>(ids), sizeof(ids)}},
      {"node_mask", {DType::kU8, {3}, mask, sizeof(mask)}},
      {"w", {DType::kBF16, {1, 2}, reinterpret_cast<const uint8_t*>(bf16), sizeof(bf16)}},
      {"empty", {DType::kF16, {0, 4}, nullptr, 0}},
  };
  const std::string path = dir.File("out.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "graphprobe-dataset-v1"}}).ok());

  auto file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata().at("format"), "graphprobe-dataset-v1");
  EXPECT_EQ(file->names().size(), 5u);
  auto features = file->Get("features");
  ASSERT_TRUE(features.ok());
  EXPECT_EQ(features->dtype, DType::kF32);
  EXPECT_EQ(features->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(features->data, f, sizeof(f)), 0);
  auto gid = file->Get("graph_id");
  ASSERT_TRUE(gid.ok());
  EXPECT_EQ(std::memcmp(gid->data, ids, sizeof(ids)), 0);
  EXPECT_EQ(file->Get("w")->dtype, DType::kBF16);
  EXPECT_EQ(file->Get("empty")->numel(), 0);
  auto missing = file->Get("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  // Header padded so tensor data starts 8-byte aligned.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(features->data) % 8, 0u);
}

TEST(SafetensorsTest, WriterRefusesDuplicateNamesAndWrongByteCounts) {
  TempDir dir;
  const float f[2] = {1, 2};
  TensorView view{DType::kF32, {2}, reinterpret_cast<const uint8_t*>(f), sizeof(f)};
  EXPECT_TRUE(HasStatus(WriteSafetensors(dir.File("a"), {{"x", view}, {"x", view}}),
                        absl::StatusCode::kInvalidArgument,
                        "duplicate or reserved tensor name 'x'"));
  TensorView wrong{DType::kF32, {3}, reinterpret_cast<const uint8_t*>(f), sizeof(f)};
  EXPECT_TRUE(HasStatus(WriteSafetensors(dir.File("b"), {{"x", wrong}}),
                        absl::StatusCode::kInvalidArgument, "tensor 'x' has 8 bytes"));
  EXPECT_FALSE(fs::exists(dir.File("b")));
}

TEST(SafetensorsTest, TruncatedFileIsAnErrorNotACrash) {
  TempDir dir;
  const float f[64] = {};
  const std::string path = dir.File("t.safetensors");
  ASSERT_TRUE(
      WriteSafetensors(path,
                       {{"x", {DType::kF32, {64}, reinterpret_cast<const uint8_t*>(f), sizeof(f)}}})
          .ok());
  fs::resize_file(path, fs::file_size(path) - 10);
  EXPECT_NE(OpenError(path).find("data_offsets end 256 is past the data section"),
            std::string::npos);
  fs::resize_file(path, 5);
  EXPECT_NE(OpenError(path).find("shorter than the 8-byte header length"), std::string::npos);
}

TEST(SafetensorsTest, HeaderLengthPastEndOfFile) {
  TempDir dir;
  const std::string path = dir.File("h.safetensors");
  WriteRaw(path, "{}", "", /*header_len_override=*/1000);
  const std::string error = OpenError(path);
  EXPECT_NE(error.find("header length 1000 runs past the end"), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos);
}

TEST(SafetensorsTest, OverlappingSpans) {
  TempDir dir;
  const std::string path = dir.File("o.safetensors");
  WriteRaw(path,
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           std::string(12, '\0'));
  EXPECT_NE(OpenError(path).find("tensors 'a' and 'b' overlap"), std::string::npos);
}

TEST(SafetensorsTest, DtypeSizeTimesShapeMustMatchSpan) {
  TempDir dir;
  const std::string path = dir.File("d.safetensors");
  WriteRaw(path, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_NE(
      OpenError(path).find("tensor 'a': dtype F32 x shape [3] is 12 bytes but data_offsets span 8"),
      std::string::npos);
}

TEST(SafetensorsTest, OtherMalformedHeaders) {
  TempDir dir;
  struct Case {
    std::string header, data, expected;
  };
  const std::vector<Case> cases = {
      {"not json", "", "not valid JSON"},
      {"[1,2]", "", "not a JSON object"},
      {R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", "x", "unsupported dtype 'Q4'"},
      {R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "x",
       "'shape' must be an array"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1]}})", "x",
       "'data_offsets' must be [begin, end]"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}})", "x", "begin 1 > end 0"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "xx", "belong to no tensor"},
      {R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "xx", "tensors cover 1"},
      {R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,1]}})", "x",
       "shape overflows"},
      {R"({"__metadata__":{"k":1}})", "", "__metadata__.k is not a string"},
      {R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "x", "missing or non-string 'dtype'"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.File("m.safetensors");
    WriteRaw(path, c.header, c.data);
    const std::string error = OpenError(path);
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.header << " -> " << error;
  }
}

TEST(SafetensorsTest, MissingFileIsNotFound) {
  auto file = SafetensorsFile::Open("/nonexistent/x.safetensors");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, ShardedCheckpointThroughIndex) {
  TempDir dir;
  const float a[2] = {1, 2}, b[3] = {3, 4, 5};
  ASSERT_TRUE(
      WriteSafetensors(dir.File("model-00001-of-00002.safetensors"),
                       {{"a", {DType::kF32, {2}, reinterpret_cast<const uint8_t*>(a), sizeof(a)}}})
          .ok());
  ASSERT_TRUE(
      WriteSafetensors(dir.File("model-00002-of-00002.safetensors"),
                       {{"b", {DType::kF32, {3}, reinterpret_cast<const uint8_t*>(b), sizeof(b)}}})
          .ok());
  nlohmann::json index = {
      {"metadata", {{"total_size", 20}}},
      {"weight_map",
       {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}}};
  ASSERT_TRUE(WriteJsonFile(dir.File("model.safetensors.index.json"), index).ok());
  std::string root = dir.File("");
  root.pop_back();
  auto checkpoint = SafetensorsCheckpoint::Open(root);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->names(), (std::vector<std::string>{"a", "b"}));
  auto view = checkpoint->Get("b");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(reinterpret_cast<const float*>(view->data)[2], 5.0f);
  EXPECT_EQ(checkpoint->Get("c").status().code(), absl::StatusCode::kNotFound);

  // The index names a tensor its shard does not hold.
  index["weight_map"]["c"] = "model-00001-of-00002.safetensors";
  ASSERT_TRUE(WriteJsonFile(dir.File("model.safetensors.index.json"), index).ok());
  auto broken = SafetensorsCheckpoint::Open(root);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("puts 'c' in model-00001-of-00002.safetensors"),
            std::string::npos);
}

}  // namespace
}  // namespace gp
