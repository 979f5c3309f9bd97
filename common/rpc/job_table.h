// The job bookkeeping the feature service and the trainer share: entries by id, a FIFO queue of
// ids waiting for a worker, the worker threads that take them off it, cancellation, GetJob's
// long poll, WatchJob and the shutdown. `Entry` holds the service's own request and state
// beside `job` (the message GetJob answers, with QUEUED and CANCELLED states, error and
// error_code), `std::atomic<bool> cancel` (set by Cancel and by Stop, read by the running job)
// and `int version` (bumped at every change).
//
// One mutex guards the table, its entries and whatever the service keeps beside them:
//
//   JobTable<JobEntry> jobs_{"training job", "the trainer", [](const pb::TrainingJob& job) {...}};
//   jobs_.StartWorkers(max_jobs, [this](const std::string& id) { RunJob(id); });
//   // CreateJob:
//   std::lock_guard<std::mutex> lock(jobs_.mutex());
//   if (grpc::Status room = jobs_.CheckRoom(max_queued); !room.ok()) return room;
//   jobs_.Insert(id, std::move(entry));
//   jobs_.Enqueue(id);
//   // GetJob, WatchJob, CancelJob: jobs_.Get, jobs_.Watch, jobs_.Cancel (they lock)
//   jobs_.Stop();  // cancels every job, wakes every waiter, joins the workers
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/status.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/watch_stream.h"

namespace gp {

template <typename Entry>
class JobTable {
 public:
  // Shared: a long poll keeps its entry while the service may forget it (Forget).
  using Entries = std::map<std::string, std::shared_ptr<Entry>>;
  using Job = decltype(Entry::job);

  // `noun` names a job in NOT_FOUND messages ("training job"), `service` the service in
  // UNAVAILABLE ones ("the trainer"); `finished` tells a job that has ended.
  JobTable(std::string noun, const std::string& service, std::function<bool(const Job&)> finished)
      : noun_(std::move(noun)),
        stopping_message_(service + " is shutting down"),
        finished_(std::move(finished)) {}
  ~JobTable() { Stop(); }
  JobTable(const JobTable&) = delete;
  JobTable& operator=(const JobTable&) = delete;

  std::mutex& mutex() { return mutex_; }

  // From here to Changed, callers hold mutex().
  bool stopping() const { return stopping_; }
  const Entries& entries() const { return entries_; }
  // Null when unknown. Only Forget erases an entry, and only a finished job's that no worker has
  // queued, so a running job's entry outlives the lock's release.
  Entry* Find(const std::string& id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.get();
  }
  grpc::Status NotFound(const std::string& id) const {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat(noun_, " '", id, "'"));
  }
  // UNAVAILABLE while stopping, RESOURCE_EXHAUSTED when `max_queued` ids already wait.
  grpc::Status CheckRoom(int max_queued) const {
    if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, stopping_message_);
    if (static_cast<int64_t>(queue_.size()) >= max_queued) {
      return grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat(queue_.size(), " jobs are queued, over the limit of ", max_queued));
    }
    return grpc::Status::OK;
  }
  Entry& Insert(const std::string& id, std::unique_ptr<Entry> entry) {
    return *(entries_[id] = std::move(entry));
  }
  // Erases a finished job that waits for no worker (a retention limit's oldest); false, and
  // nothing erased, for any other. A later GetJob of it is NOT_FOUND.
  bool Forget(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || !finished_(it->second->job) || queued_.count(id) > 0) return false;
    entries_.erase(it);
    changed_.notify_all();  // a watcher of it ends (NOT_FOUND) rather than waiting on
    return true;
  }
  // Queues `id` for a worker, once: a job cancelled while queued and submitted again before a
  // worker reached it is still queued, and must not run twice (two workers on one job's files).
  void Enqueue(const std::string& id) {
    if (queued_.insert(id).second) queue_.push_back(id);
    changed_.notify_all();
  }
  // After a change to `entry`: bumps its version and wakes the watchers.
  void Changed(Entry& entry) {
    ++entry.version;
    changed_.notify_all();
  }
  // The jobs in each state, as gauge values labelled state="queued" etc.: every state of
  // Job::State but STATE_UNSPECIFIED, those with no job at 0 (a dashboard's series exist from
  // the start).
  std::vector<std::pair<std::map<std::string, std::string>, double>> CountByState() const {
    const google::protobuf::EnumDescriptor* states = Job::State_descriptor();
    std::map<int, double> count;
    for (int i = 0; i < states->value_count(); ++i) count[states->value(i)->number()] = 0;
    for (const auto& [id, entry] : entries_) ++count[entry->job.state()];
    std::vector<std::pair<std::map<std::string, std::string>, double>> values;
    for (const auto& [number, jobs] : count) {
      if (number == 0) continue;  // STATE_UNSPECIFIED
      const google::protobuf::EnumValueDescriptor* state = states->FindValueByNumber(number);
      const std::string name = state != nullptr ? state->name() : absl::StrCat(number);
      values.push_back({{{"state", absl::AsciiStrToLower(name)}}, jobs});
    }
    return values;
  }

  // The rest take the lock themselves.

  // GetJob: the job now, or once it has finished if that comes within `wait_seconds` (a long
  // poll, at most 30 s).
  grpc::Status Get(const std::string& id, double wait_seconds, Job* job) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return NotFound(id);
    const std::shared_ptr<const Entry> entry = it->second;  // forgotten while it waits: kept
    if (wait_seconds > 0) {
      changed_.wait_for(lock, WaitDuration(wait_seconds),
                        [&] { return finished_(entry->job) || stopping_; });
    }
    *job = entry->job;
    return grpc::Status::OK;
  }
  // CancelJob: sets the job's cancel flag (a running job stops at its next check and records
  // how it ended); a queued one is cancelled here, and `changed` records that (a service that
  // persists its jobs writes the entry, then calls Changed).
  grpc::Status Cancel(const std::string& id, Job* job, const std::function<void(Entry&)>& changed) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry* entry = Find(id);
    if (entry == nullptr) return NotFound(id);
    entry->cancel = true;
    if (entry->job.state() == Job::QUEUED) {
      entry->job.set_state(Job::CANCELLED);
      entry->job.set_error("cancelled while queued");
      entry->job.set_error_code(static_cast<int>(absl::StatusCode::kCancelled));
      changed(*entry);
    }
    *job = entry->job;
    return grpc::Status::OK;
  }
  // WatchJob: `fill(entry, message)` (with the lock) now and after each change, at most one
  // message per `min_interval`, until the job has finished, the client went away or the table
  // stops (UNAVAILABLE: the client reconnects elsewhere or later).
  grpc::Status Watch(grpc::ServerContext* context, const std::string& id,
                     const std::function<void(const Entry&, Job*)>& fill,
                     grpc::ServerWriter<Job>* writer, std::chrono::milliseconds min_interval) {
    return StreamChanges<Job>(
        context, mutex_, changed_,
        [&](int* version, Job* job) {
          const Entry* entry = Find(id);
          if (entry == nullptr) return NotFound(id);
          *version = entry->version;
          fill(*entry, job);
          return grpc::Status::OK;
        },
        [&] { return stopping_; }, finished_, writer, {min_interval, stopping_message_});
  }

  // Starts `count` (at least 1) workers, each calling `run(id)` without the lock for the ids
  // queued, in order, skipping those cancelled while queued.
  void StartWorkers(int count, std::function<void(const std::string&)> run) {
    run_ = std::move(run);
    for (int i = 0; i < std::max(1, count); ++i) workers_.emplace_back([this] { RunWorker(); });
  }
  // Cancels every job, wakes every waiter and joins the workers (each after its job returns);
  // later calls do nothing.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [id, entry] : entries_) entry->cancel = true;
      changed_.notify_all();
    }
    for (std::thread& worker : workers_) worker.join();
    workers_.clear();
  }

 private:
  void RunWorker() {
    for (;;) {
      std::string id;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        id = std::move(queue_.front());
        queue_.pop_front();
        queued_.erase(id);
        if (entries_.at(id)->cancel) continue;  // cancelled while queued (Forget keeps it)
      }
      run_(id);
    }
  }

  const std::string noun_;
  const std::string stopping_message_;
  const std::function<bool(const Job&)> finished_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Entries entries_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;  // the ids in queue_
  bool stopping_ = false;
  std::function<void(const std::string&)> run_;
  std::vector<std::thread> workers_;
};

}  // namespace gp
