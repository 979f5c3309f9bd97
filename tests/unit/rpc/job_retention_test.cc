// The feature service's retention of finished jobs: least recently used first, by the latest
// write of a job's record or files; the most recent spared; a file two jobs share deleted only
// with the last of them; files of unfinished jobs counted against the bytes budget but never
// deleted; a job that cannot be forgotten now skipped.
#include "services/features/job_retention.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace gp {
namespace {

namespace fs = std::filesystem;

class JobRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("gp-retention-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of `bytes` bytes last written `age_s` seconds before now.
  std::string Write(const std::string& name, int bytes, int age_s) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << std::string(bytes, 'x');
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::seconds(age_s));
    return path;
  }

  // A finished job whose record was written `age_s` seconds ago, with the named datasets.
  StoredJob Job(const std::string& id, int age_s, const std::vector<std::string>& datasets) {
    const std::string record = Write(id + ".json", 10, age_s);
    std::vector<std::string> paths;
    for (const std::string& name : datasets) paths.push_back((dir_ / name).string());
    return StatStoredJob(id, record, paths);
  }

  Retained Retain(const std::vector<StoredJob>& jobs, const RetentionLimits& limits,
                  const std::set<std::string>& in_use = {}) {
    return ForgetLeastRecentlyUsed(jobs, in_use, limits, [&](const std::string& id) {
      if (id == refuse_) return false;
      forgotten_.push_back(id);
      return true;
    });
  }

  static RetentionLimits Limits(int64_t max_jobs, int64_t max_bytes, int keep_recent) {
    RetentionLimits limits;
    limits.max_jobs = max_jobs;
    limits.max_bytes = max_bytes;
    limits.keep_recent = keep_recent;
    return limits;
  }

  bool Exists(const std::string& name) const { return fs::exists(dir_ / name); }

  fs::path dir_;
  std::string refuse_;
  std::vector<std::string> forgotten_;
};

TEST_F(JobRetentionTest, AStoredJobIsItsExistingFilesAndItsLatestUse) {
  Write("a.safetensors", 100, 50);
  Write("b.safetensors.partial", 30, 5);  // the checkpoints of an unfinished build
  const StoredJob job = Job("j", 500, {"a.safetensors", "b.safetensors", "never.safetensors"});
  ASSERT_EQ(job.files.size(), 2u);
  EXPECT_EQ(job.files[0], (dir_ / "a.safetensors").string());
  EXPECT_EQ(job.files[1], (dir_ / "b.safetensors.partial").string());
  EXPECT_EQ(job.file_bytes, (std::vector<int64_t>{100, 30}));
  EXPECT_EQ(job.used, fs::last_write_time(dir_ / "b.safetensors.partial"));

  const StoredJob gone = StatStoredJob("gone", (dir_ / "no-record.json").string(), {});
  EXPECT_TRUE(gone.files.empty());
  EXPECT_EQ(gone.used, fs::file_time_type::min());
}

TEST_F(JobRetentionTest, TheLeastRecentlyUsedBeyondTheJobBudgetAreForgottenWithTheirFiles) {
  Write("old.safetensors", 100, 400);
  Write("older.safetensors", 100, 10);  // its use (a GetDataset) is recent: it stays
  Write("mid.safetensors", 100, 200);
  Write("new.safetensors", 100, 100);
  const std::vector<StoredJob> jobs = {
      Job("mid", 300, {"mid.safetensors"}), Job("old", 400, {"old.safetensors"}),
      Job("older", 900, {"older.safetensors"}), Job("new", 100, {"new.safetensors"})};
  const Retained retained = Retain(jobs, Limits(2, 1 << 20, 1));
  EXPECT_EQ(forgotten_, (std::vector<std::string>{"old", "mid"}));
  EXPECT_EQ(retained.forgotten, 2);
  EXPECT_EQ(retained.bytes_deleted, 200);
  EXPECT_EQ(retained.bytes, 200);
  EXPECT_FALSE(Exists("old.safetensors"));
  EXPECT_FALSE(Exists("mid.safetensors"));
  EXPECT_TRUE(Exists("older.safetensors"));
  EXPECT_TRUE(Exists("new.safetensors"));
}

TEST_F(JobRetentionTest, ASharedFileIsCountedOnceAndDeletedWithTheLastJobThatListsIt) {
  Write("shared.safetensors", 100, 300);
  Write("own.safetensors", 50, 300);
  const std::vector<StoredJob> jobs = {Job("a", 200, {"shared.safetensors", "own.safetensors"}),
                                       Job("b", 100, {"shared.safetensors"}), Job("c", 10, {})};
  // 150 bytes over a budget of 100: forgetting `a` frees only its own file, the shared one is
  // still `b`'s; then `b` goes too.
  Retained retained = Retain(jobs, Limits(10, 100, 1));
  EXPECT_EQ(forgotten_, (std::vector<std::string>{"a"}));
  EXPECT_EQ(retained.bytes, 100);
  EXPECT_TRUE(Exists("shared.safetensors"));
  EXPECT_FALSE(Exists("own.safetensors"));

  forgotten_.clear();
  retained = Retain({jobs[1], jobs[2]}, Limits(10, 99, 1));
  EXPECT_EQ(forgotten_, (std::vector<std::string>{"b"}));
  EXPECT_EQ(retained.bytes, 0);
  EXPECT_FALSE(Exists("shared.safetensors"));
}

TEST_F(JobRetentionTest, FilesInUseCountButStayAndTheMostRecentAreSpared) {
  const std::string building = Write("building.safetensors.partial", 500, 0);
  Write("a.safetensors", 100, 300);
  Write("b.safetensors", 100, 200);
  Write("c.safetensors", 100, 100);
  const std::vector<StoredJob> jobs = {Job("a", 300, {"a.safetensors"}),
                                       Job("b", 200, {"b.safetensors"}),
                                       Job("c", 100, {"c.safetensors"})};
  // The running build alone is over the budget: every finished job but the two spared goes,
  // and the running build's file stays.
  const Retained retained = Retain(jobs, Limits(10, 100, 2), {building});
  EXPECT_EQ(forgotten_, (std::vector<std::string>{"a"}));
  EXPECT_EQ(retained.bytes, 700);
  EXPECT_TRUE(Exists("building.safetensors.partial"));
  EXPECT_TRUE(Exists("b.safetensors"));
  EXPECT_TRUE(Exists("c.safetensors"));
}

TEST_F(JobRetentionTest, AJobThatCannotBeForgottenNowIsSkippedForTheNext) {
  Write("a.safetensors", 100, 300);
  Write("b.safetensors", 100, 200);
  Write("c.safetensors", 100, 100);
  const std::vector<StoredJob> jobs = {Job("a", 300, {"a.safetensors"}),
                                       Job("b", 200, {"b.safetensors"}),
                                       Job("c", 100, {"c.safetensors"})};
  refuse_ = "a";  // e.g. submitted again between the listing and its turn
  const Retained retained = Retain(jobs, Limits(2, 1 << 20, 0));
  EXPECT_EQ(forgotten_, (std::vector<std::string>{"b"}));
  EXPECT_EQ(retained.forgotten, 1);
  EXPECT_TRUE(Exists("a.safetensors"));
  EXPECT_FALSE(Exists("b.safetensors"));
}

}  // namespace
}  // namespace gp
