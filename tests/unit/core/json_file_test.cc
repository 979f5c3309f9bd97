// JSON and text files: errors name the file and what is wrong with it (absent, a directory,
// not JSON), and a written file is whole or absent.
#include "common/core/json_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/unit/expect_status.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

class JsonFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gp-json-file-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(JsonFileTest, ReadsWhatWasWritten) {
  ASSERT_TRUE(WriteJsonFile(Path("a.json"), {{"cells", {1, 2}}}).ok());
  auto json = ReadJsonFile(Path("a.json"));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)["cells"], nlohmann::json({1, 2}));
  EXPECT_FALSE(fs::exists(Path("a.json.tmp")));
  auto text = ReadTextFile(Path("a.json"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(nlohmann::json::parse(*text), *json);
}

TEST_F(JsonFileTest, ErrorsNameTheFileAndTheProblem) {
  EXPECT_TRUE(HasStatus(ReadJsonFile(Path("absent.json")), absl::StatusCode::kNotFound,
                        Path("absent.json") + ": cannot open"));
  // A directory opens and reads as nothing; it is named as what it is, not as bad JSON.
  EXPECT_TRUE(HasStatus(ReadJsonFile(dir_.string()), absl::StatusCode::kInvalidArgument,
                        dir_.string() + ": is a directory"));
  EXPECT_TRUE(HasStatus(ReadTextFile(dir_.string()), absl::StatusCode::kInvalidArgument,
                        dir_.string() + ": is a directory"));
  std::ofstream(Path("bad.json")) << "{\"cells\": [1, 2";
  EXPECT_TRUE(HasStatus(ReadJsonFile(Path("bad.json")), absl::StatusCode::kInvalidArgument,
                        Path("bad.json") + ": invalid JSON"));
  // A pipe (--spec <(jq ...)) is read like a file.
  const std::string fifo = Path("spec.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo) << "{\"models\": []}"; });
  auto piped = ReadJsonFile(fifo);
  writer.join();
  ASSERT_TRUE(piped.ok()) << piped.status();
  EXPECT_TRUE((*piped)["models"].is_array());
  EXPECT_TRUE(HasStatus(WriteTextFile(Path("no-such-dir/x.json"), "{}"),
                        absl::StatusCode::kInvalidArgument, "no-such-dir/x.json: cannot write"));
}

}  // namespace
}  // namespace gp
