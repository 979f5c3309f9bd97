// The job table the feature service and the trainer share: queued jobs run once each, in
// order; a job cancelled while queued is skipped, and submitted again runs once; a full queue
// and a stopping table refuse new jobs with their status; Stop cancels the running job and
// joins; GetJob's long poll ends when the job does; CancelJob ends a queued job at once and
// only flags a running one.
#include "common/rpc/job_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "graphprobe/v1/features.pb.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

struct Entry {
  pb::Job job;
  std::atomic<bool> cancel{false};
  int version = 0;
};

bool Finished(const pb::Job& job) {
  return job.state() == pb::Job::SUCCEEDED || job.state() == pb::Job::FAILED ||
         job.state() == pb::Job::CANCELLED;
}

class JobTableTest : public testing::Test {
 protected:
  // Adds a queued job (not yet enqueued).
  void Add(const std::string& id) {
    std::lock_guard<std::mutex> lock(table_.mutex());
    auto entry = std::make_unique<Entry>();
    entry->job.set_id(id);
    entry->job.set_state(pb::Job::QUEUED);
    table_.Insert(id, std::move(entry));
  }
  void Enqueue(const std::string& id) {
    std::lock_guard<std::mutex> lock(table_.mutex());
    table_.Enqueue(id);
  }
  void SetState(const std::string& id, pb::Job::State state) {
    std::lock_guard<std::mutex> lock(table_.mutex());
    Entry& entry = *table_.Find(id);
    entry.job.set_state(state);
    table_.Changed(entry);
  }
  // A worker's job: records the id and succeeds.
  void Succeed(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(ran_mutex_);
      ran_.push_back(id);
    }
    SetState(id, pb::Job::SUCCEEDED);
  }
  pb::Job WaitForEnd(const std::string& id) {
    pb::Job job;
    const grpc::Status status = table_.Get(id, 30, &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }
  std::vector<std::string> Ran() {
    std::lock_guard<std::mutex> lock(ran_mutex_);
    return ran_;
  }

  std::mutex ran_mutex_;
  std::vector<std::string> ran_;
  JobTable<Entry> table_{"job", "the test service", Finished};  // last: stopped first
};

TEST_F(JobTableTest, QueuedJobsRunOnceEachInOrder) {
  for (const char* id : {"a", "b", "c"}) {
    Add(id);
    Enqueue(id);
  }
  table_.StartWorkers(1, [this](const std::string& id) { Succeed(id); });
  EXPECT_EQ(WaitForEnd("c").state(), pb::Job::SUCCEEDED);
  EXPECT_EQ(Ran(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(JobTableTest, CancelledWhileQueuedIsSkippedAndResubmittedRunsOnce) {
  for (const char* id : {"kept", "dropped", "last"}) {
    Add(id);
    Enqueue(id);
  }
  {
    std::lock_guard<std::mutex> lock(table_.mutex());
    table_.Find("dropped")->cancel = true;
    // Cancelled while queued, then submitted again before a worker reached it.
    table_.Find("kept")->cancel = true;
    table_.Find("kept")->cancel = false;
    table_.Enqueue("kept");
  }
  table_.StartWorkers(2, [this](const std::string& id) { Succeed(id); });
  EXPECT_EQ(WaitForEnd("kept").state(), pb::Job::SUCCEEDED);
  EXPECT_EQ(WaitForEnd("last").state(), pb::Job::SUCCEEDED);
  table_.Stop();  // joins: nothing can still be running
  std::vector<std::string> ran = Ran();
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<std::string>{"kept", "last"}));
  pb::Job dropped;
  ASSERT_TRUE(table_.Get("dropped", 0, &dropped).ok());
  EXPECT_EQ(dropped.state(), pb::Job::QUEUED);  // the service marks it cancelled, not the table
}

TEST_F(JobTableTest, AFullQueueAndAStoppingTableRefuseNewJobs) {
  Add("a");
  Enqueue("a");
  {
    std::lock_guard<std::mutex> lock(table_.mutex());
    EXPECT_TRUE(table_.CheckRoom(2).ok());
    table_.Enqueue("a");  // already queued: not twice
    EXPECT_TRUE(table_.CheckRoom(2).ok());
  }
  Add("b");
  Enqueue("b");
  {
    std::lock_guard<std::mutex> lock(table_.mutex());
    const grpc::Status full = table_.CheckRoom(2);
    EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(full.error_message(), "2 jobs are queued, over the limit of 2");
  }
  table_.Stop();
  std::lock_guard<std::mutex> lock(table_.mutex());
  const grpc::Status stopping = table_.CheckRoom(100);
  EXPECT_EQ(stopping.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(stopping.error_message(), "the test service is shutting down");
  EXPECT_TRUE(table_.Find("a")->cancel);
}

TEST_F(JobTableTest, StopCancelsTheRunningJobAndJoinsItsWorker) {
  Add("long");
  Enqueue("long");
  std::atomic<bool> started{false}, saw_cancel{false};
  table_.StartWorkers(1, [&](const std::string& id) {
    Entry* entry;
    {
      std::lock_guard<std::mutex> lock(table_.mutex());
      entry = table_.Find(id);
    }
    started = true;
    while (!entry->cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    saw_cancel = true;
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  table_.Stop();
  EXPECT_TRUE(saw_cancel);  // Stop returned only after the job did
  table_.Stop();            // again: nothing to do
}

TEST_F(JobTableTest, GetAnswersNowOrWhenTheJobEnds) {
  pb::Job job;
  const grpc::Status unknown = table_.Get("nope", 0, &job);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "job 'nope'");
  Add("a");
  ASSERT_TRUE(table_.Get("a", 0, &job).ok());
  EXPECT_EQ(job.state(), pb::Job::QUEUED);
  std::thread finisher([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    SetState("a", pb::Job::FAILED);
  });
  EXPECT_EQ(WaitForEnd("a").state(), pb::Job::FAILED);
  finisher.join();
}

TEST_F(JobTableTest, CancelEndsAQueuedJobAndFlagsARunningOne) {
  Add("queued");
  Add("running");
  SetState("running", pb::Job::RUNNING);
  int changes = 0;
  const auto count = [&](Entry& entry) {
    ++changes;
    table_.Changed(entry);
  };
  pb::Job job;
  ASSERT_TRUE(table_.Cancel("queued", &job, count).ok());
  EXPECT_EQ(job.state(), pb::Job::CANCELLED);
  EXPECT_EQ(job.error(), "cancelled while queued");
  EXPECT_EQ(job.error_code(), static_cast<int>(absl::StatusCode::kCancelled));
  ASSERT_TRUE(table_.Cancel("running", &job, count).ok());
  EXPECT_EQ(job.state(), pb::Job::RUNNING);  // the job itself records how it ends
  EXPECT_EQ(changes, 1);
  const grpc::Status unknown = table_.Cancel("nope", &job, count);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  std::lock_guard<std::mutex> lock(table_.mutex());
  EXPECT_TRUE(table_.Find("queued")->cancel);
  EXPECT_TRUE(table_.Find("running")->cancel);
}

TEST_F(JobTableTest, CountsJobsByStateWithZerosForTheEmptyOnes) {
  for (const char* id : {"a", "b", "c"}) Add(id);
  SetState("c", pb::Job::RUNNING);
  std::lock_guard<std::mutex> lock(table_.mutex());
  const auto counts = table_.CountByState();
  std::map<std::string, double> by_state;
  for (const auto& [labels, value] : counts) by_state[labels.at("state")] = value;
  EXPECT_EQ(by_state,
            (std::map<std::string, double>{
                {"queued", 2}, {"running", 1}, {"succeeded", 0}, {"failed", 0}, {"cancelled", 0}}));
}

}  // namespace
}  // namespace gp
