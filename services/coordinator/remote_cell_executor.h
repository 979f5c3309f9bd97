// The coordinator's CellExecutor: dataset families are built by feature services and cells
// trained by trainers, chosen among the live workers (least loaded first) at each start. Every
// job is recorded in the coordinator's state; a job is asked for by a stable request id
// (ablation/cell), so a restarted coordinator finds a trainer's job again instead of
// starting it twice. A worker that stops answering (or whose lease runs out) fails the call
// with Unavailable, which the scheduler retries elsewhere; it is avoided for a while. Jobs are
// followed by long polls (GetJob with wait_seconds): the end of a job is learnt at once,
// without a stream of polls.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/ablation/cell_executor.h"
#include "services/coordinator/coordinator_store.h"

namespace gp {

struct LiveWorker {
  std::string address;
  int capacity = 1;
};

struct RemoteExecutorOptions {
  std::string ablation_id;
  // The live workers of a kind ("features", "trainer") now.
  std::function<std::vector<LiveWorker>(const std::string& kind)> live_workers;
  CoordinatorStore* store = nullptr;
  double rpc_deadline_seconds = 10;
  // A running job's long poll: the worker answers when the job ends, or after this long.
  double poll_seconds = 1;
  double avoid_seconds = 5;  // a worker that failed a call is not chosen this long
};

class RemoteCellExecutor : public CellExecutor {
 public:
  explicit RemoteCellExecutor(RemoteExecutorOptions options) : options_(std::move(options)) {}

  absl::StatusOr<std::vector<DatasetHandle>> BuildFamily(const std::vector<DatasetSpec>& specs,
                                                         const std::atomic<bool>* cancel) override;
  absl::StatusOr<CellResult> RunCell(const AblationCell& cell, const DatasetHandle& dataset,
                                     const std::atomic<bool>* cancel) override;
  int BuildSlots() override { return Slots("features"); }
  int CellSlots() override { return Slots("trainer"); }

 private:
  int Slots(const std::string& kind);
  // The live worker of `kind` with the fewest jobs from here per unit of capacity, counted as
  // busy until Release; Unavailable when there is none.
  absl::StatusOr<std::string> Acquire(const std::string& kind);
  void Release(const std::string& address);
  bool IsLive(const std::string& kind, const std::string& address);
  // Marks a worker that failed a call: not chosen for avoid_seconds.
  void Avoid(const std::string& address);

  RemoteExecutorOptions options_;
  std::mutex mutex_;
  std::map<std::string, int> busy_;
  std::map<std::string, std::chrono::steady_clock::time_point> avoid_until_;
};

}  // namespace gp
