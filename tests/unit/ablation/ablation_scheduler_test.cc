// The scheduler on a scripted executor: every cell recorded once, each family built once,
// resumed cells skipped, passing failures retried, lasting ones recorded (or stopping the
// run), a family built again when its dataset is gone, builds in parallel where there is room,
// cancellation.
#include "common/ablation/ablation_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gp {
namespace {

// 2 models x 2 modes x 2 probes (+ control task) + a positional cell per family: 18 cells,
// 4 datasets in 2 families.
std::vector<AblationCell> Cells() {
  const nlohmann::json json = {
      {"models",
       {{{"name", "a"}, {"path", "m"}}, {{"name", "b"}, {"path", "m"}, {"random_init", true}}}},
      {"feature_modes", {"raw", "argmax"}},
      {"probes", {"pair-mlp", "gcn"}},
      {"dataset_sizes", {10}}};
  absl::StatusOr<AblationSpec> spec = ParseAblationSpec(json, "spec", "/models");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return ExpandAblation(*spec);
}

class ScriptedExecutor : public CellExecutor {
 public:
  absl::StatusOr<std::vector<DatasetHandle>> BuildFamily(const std::vector<DatasetSpec>& specs,
                                                         const std::atomic<bool>* cancel) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++builds_;
      max_parallel_builds_ = std::max(max_parallel_builds_, ++building_);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(build_ms_));
    std::lock_guard<std::mutex> lock(mutex_);
    --building_;
    if (cancel->load()) return absl::CancelledError("cancelled");
    if (build_failures_ > 0) {
      --build_failures_;
      return absl::UnavailableError("feature service away");
    }
    if (builds_ >= fail_builds_from_) return absl::InvalidArgumentError("model gone");
    // Where this build lies: which build it was, so that a test can lose one.
    std::vector<DatasetHandle> handles;
    for (const DatasetSpec& spec : specs) {
      handles.push_back({ContentKey(spec), "build-" + std::to_string(builds_)});
    }
    return handles;
  }
  absl::StatusOr<CellResult> RunCell(const AblationCell& cell, const DatasetHandle& dataset,
                                     const std::atomic<bool>* cancel) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(cell_ms_));
    std::lock_guard<std::mutex> lock(mutex_);
    ++runs_[cell.id];
    ran_on_[cell.id].push_back(dataset.location);
    EXPECT_EQ(dataset.key, ContentKey(cell.dataset));
    if (cancel->load()) return absl::CancelledError("cancelled");
    if (lost_(dataset.location)) return absl::NotFoundError("dataset " + dataset.key + " gone");
    auto scripted = failures_.find(cell.id);
    if (scripted != failures_.end() && !scripted->second.empty()) {
      const absl::Status status = scripted->second.front();
      scripted->second.erase(scripted->second.begin());
      return status;
    }
    CellResult result = DescribeCell(cell);
    result.test.f1 = 0.5;
    return result;
  }
  void ReleaseDataset(const DatasetHandle&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++released_;
  }
  int BuildSlots() override { return build_slots_; }
  int CellSlots() override { return 2; }

  std::mutex mutex_;
  int build_slots_ = 1, build_ms_ = 0, cell_ms_ = 0, build_failures_ = 0;
  int fail_builds_from_ = 1000;  // builds from this one on fail for good
  std::function<bool(const std::string& location)> lost_ = [](const std::string&) { return false; };
  int builds_ = 0, building_ = 0, max_parallel_builds_ = 0, released_ = 0;
  std::map<std::string, int> runs_;
  std::map<std::string, std::vector<std::string>> ran_on_;  // the builds each run used
  std::map<std::string, std::vector<absl::Status>> failures_;
};

struct Recorder {
  std::map<std::string, int> recorded;
  std::map<std::string, std::string> failed;
  RecordCell record = [this](const CellResult& r) {
    ++recorded[r.cell_id];
    return absl::OkStatus();
  };
  RecordFailure record_failure = [this](const AblationCell& c, const absl::Status& s) {
    failed[c.id] = std::string(s.message());
    return absl::OkStatus();
  };
};

SchedulerOptions Fast() {
  SchedulerOptions options;
  options.first_backoff_seconds = 0.001;
  return options;
}

TEST(AblationSchedulerTest, RecordsEveryCellOnceAndBuildsEachFamilyOnce) {
  const std::vector<AblationCell> cells = Cells();
  ASSERT_EQ(cells.size(), 18u);
  ScriptedExecutor executor;
  Recorder recorder;
  AblationProgress last;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure,
                       [&](const AblationProgress& p) { last = p; })
                  .ok());
  EXPECT_EQ(recorder.recorded.size(), 18u);
  for (const auto& [id, count] : recorder.recorded) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(executor.builds_, 2);
  EXPECT_EQ(executor.released_, 4);
  EXPECT_EQ(last.stage, "done");
  EXPECT_EQ(last.cells_done, 18);
  EXPECT_EQ(last.datasets_done, 2);
  EXPECT_EQ(last.datasets_total, 2);
}

TEST(AblationSchedulerTest, ResumedCellsAndFinishedFamiliesAreSkipped) {
  const std::vector<AblationCell> cells = Cells();
  SchedulerOptions options = Fast();
  // The first model's family is done; one cell of the second remains.
  for (size_t i = 0; i + 1 < cells.size(); ++i) options.done.insert(cells[i].id);
  ScriptedExecutor executor;
  Recorder recorder;
  ASSERT_TRUE(RunCells(cells, executor, options, recorder.record, recorder.record_failure).ok());
  EXPECT_EQ(executor.builds_, 1);
  ASSERT_EQ(recorder.recorded.size(), 1u);
  EXPECT_EQ(recorder.recorded.begin()->first, cells.back().id);

  // Cells recorded as failed (a restarted coordinator) are not run again and count as failed.
  SchedulerOptions after_failures = Fast();
  for (size_t i = 0; i + 2 < cells.size(); ++i) after_failures.done.insert(cells[i].id);
  after_failures.failed.insert(cells[cells.size() - 2].id);
  ScriptedExecutor again;
  Recorder rerun;
  AblationProgress last;
  ASSERT_TRUE(RunCells(cells, again, after_failures, rerun.record, rerun.record_failure,
                       [&](const AblationProgress& p) { last = p; })
                  .ok());
  EXPECT_EQ(again.runs_.size(), 1u);
  EXPECT_EQ(last.cells_failed, 1);
  EXPECT_EQ(last.cells_resumed, 16);
  EXPECT_EQ(last.cells_done, 17);
}

TEST(AblationSchedulerTest, PassingFailuresAreRetriedLastingOnesRecorded) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.build_failures_ = 2;  // the feature service is away twice
  executor.failures_[cells[0].id] = {absl::UnavailableError("trainer gone"),
                                     absl::DeadlineExceededError("slow"),
                                     absl::ResourceExhaustedError("disk full")};
  executor.failures_[cells[1].id] = {absl::InvalidArgumentError("bad options")};
  for (int i = 0; i < 5; ++i)
    executor.failures_[cells[2].id].push_back(absl::UnavailableError("x"));
  Recorder recorder;
  AblationProgress last;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure,
                       [&](const AblationProgress& p) { last = p; })
                  .ok());
  EXPECT_EQ(executor.runs_[cells[0].id], 4);
  EXPECT_EQ(recorder.recorded.count(cells[0].id), 1u);
  EXPECT_EQ(executor.runs_[cells[1].id], 1);  // not retried
  EXPECT_NE(recorder.failed[cells[1].id].find("bad options"), std::string::npos);
  EXPECT_EQ(executor.runs_[cells[2].id], 5);  // max_attempts
  EXPECT_EQ(recorder.failed.count(cells[2].id), 1u);
  EXPECT_EQ(recorder.recorded.size(), 16u);
  EXPECT_EQ(last.cells_failed, 2);
  EXPECT_EQ(last.cells_done, 16);

  // The local runner stops at the first lasting failure and returns it.
  ScriptedExecutor strict;
  strict.failures_[cells[1].id] = {absl::InvalidArgumentError("bad options")};
  SchedulerOptions options = Fast();
  options.stop_at_first_failure = true;
  Recorder stopped;
  const absl::Status status =
      RunCells(cells, strict, options, stopped.record, stopped.record_failure);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(cells[1].id), std::string::npos) << status;
  EXPECT_LT(stopped.recorded.size(), 18u);
}

// The first family (build-1: one slot, so families build in grid order) is lost after its
// cells started.
TEST(AblationSchedulerTest, ADatasetFoundGoneIsBuiltAgainOnceAndItsCellsRunOnTheNewBuild) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.cell_ms_ = 5;
  executor.lost_ = [](const std::string& location) { return location == "build-1"; };
  Recorder recorder;
  AblationProgress last;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure,
                       [&](const AblationProgress& p) { last = p; })
                  .ok());
  EXPECT_TRUE(recorder.failed.empty());
  EXPECT_EQ(recorder.recorded.size(), 18u);
  for (const auto& [id, count] : recorder.recorded) EXPECT_EQ(count, 1) << id;
  // However many of its cells found it gone (two run at once), the family was built once more.
  EXPECT_EQ(executor.builds_, 3);
  int rerun = 0;
  for (const AblationCell& cell : cells) {
    const std::vector<std::string>& ran_on = executor.ran_on_[cell.id];
    ASSERT_FALSE(ran_on.empty()) << cell.id;
    EXPECT_NE(ran_on.back(), "build-1") << cell.id;  // each ended on a build that was there
    EXPECT_LE(ran_on.size(), 2u) << cell.id;
    rerun += ran_on.size() == 2;
  }
  EXPECT_GE(rerun, 1);
  EXPECT_EQ(executor.released_, 4);
  EXPECT_EQ(last.datasets_done, 2);
  EXPECT_EQ(last.cells_done, 18);
}

TEST(AblationSchedulerTest, ALostDatasetThatCannotBeBuiltAgainFailsItsCellsWithTheBuildsError) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.cell_ms_ = 5;
  executor.lost_ = [](const std::string& location) { return location == "build-1"; };
  executor.fail_builds_from_ = 3;
  Recorder recorder;
  AblationProgress last;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure,
                       [&](const AblationProgress& p) { last = p; })
                  .ok());
  // The first family's 9 cells all ran on the lost build; the second's were unaffected.
  EXPECT_EQ(recorder.recorded.size(), 9u);
  ASSERT_EQ(recorder.failed.size(), 9u);
  for (const auto& [id, message] : recorder.failed) {
    EXPECT_NE(message.find("model gone"), std::string::npos) << id << ": " << message;
    EXPECT_EQ(recorder.recorded.count(id), 0u) << id;
  }
  EXPECT_EQ(last.cells_failed, 9);
  EXPECT_EQ(last.cells_done, 9);
}

TEST(AblationSchedulerTest, ADatasetLostAtEveryBuildEndsAfterMaxAttempts) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.lost_ = [](const std::string&) { return true; };
  Recorder recorder;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure).ok());
  EXPECT_TRUE(recorder.recorded.empty());
  ASSERT_EQ(recorder.failed.size(), 18u);
  for (const AblationCell& cell : cells) {
    EXPECT_EQ(executor.runs_[cell.id], 5) << cell.id;  // max_attempts
    EXPECT_NE(recorder.failed[cell.id].find("gone"), std::string::npos) << cell.id;
  }
  // Each of a family's rebuilds served several of its cells at once: fewer than 5 per cell.
  EXPECT_LT(executor.builds_, 2 + 18 * 4);
}

TEST(AblationSchedulerTest, BuildsRunInParallelWhereThereIsRoom) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.build_slots_ = 2;
  executor.build_ms_ = 200;
  Recorder recorder;
  ASSERT_TRUE(RunCells(cells, executor, Fast(), recorder.record, recorder.record_failure).ok());
  EXPECT_EQ(executor.max_parallel_builds_, 2);
  EXPECT_EQ(recorder.recorded.size(), 18u);
}

TEST(AblationSchedulerTest, CancellationStopsTheRunAndRecordsNothingMore) {
  const std::vector<AblationCell> cells = Cells();
  ScriptedExecutor executor;
  executor.cell_ms_ = 30;
  std::atomic<bool> cancel{false};
  SchedulerOptions options = Fast();
  options.cancel = &cancel;
  Recorder recorder;
  const absl::Status status = RunCells(
      cells, executor, options,
      [&](const CellResult& r) {
        if (recorder.recorded.size() == 3) cancel = true;
        return recorder.record(r);
      },
      recorder.record_failure);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_GE(recorder.recorded.size(), 4u);
  EXPECT_LE(recorder.recorded.size(), 6u);  // what was running when the flag was seen
  EXPECT_TRUE(recorder.failed.empty());
}

}  // namespace
}  // namespace gp
