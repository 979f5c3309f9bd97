// Runs an ablation's cells on a CellExecutor: builds the datasets of each family (several at
// once where the executor has room), starts a dataset's cells as soon as it lands, retries
// what failed for a passing reason (Unavailable, DeadlineExceeded, Aborted) with backoff,
// builds a family again when a cell finds its dataset gone (NotFound), and hands each finished
// cell to `record` exactly once. Used by `graphprobe run --direct` (local
// executor) and by the coordinator (remote executor) alike.
//
//   SchedulerOptions options;
//   options.done = cell ids recorded earlier;
//   absl::Status status = RunCells(cells, executor, options, record, on_progress);
#pragma once

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/ablation/cell_executor.h"

namespace gp {

struct AblationProgress {
  int cells_done = 0;  // including resumed ones
  int cells_total = 0;
  int cells_resumed = 0;
  int cells_running = 0;
  int cells_failed = 0;
  int datasets_done = 0;  // families of datasets built (or found built)
  int datasets_total = 0;
  std::string current;  // the cell (or dataset) that just started or finished
  // "dataset" (a build started), "built", "probe" (a cell started or ended) or "done"
  std::string stage;
  double elapsed_seconds = 0;
  double dataset_seconds = 0;  // of this run, building datasets (summed over parallel builds)
  double probe_seconds = 0;    // of this run, training probes (summed over parallel cells)
  double eta_seconds = -1;     // unknown until a cell of this run finished
  const CellResult* finished = nullptr;  // set when a cell just finished
};

struct SchedulerOptions {
  std::set<std::string> done;    // cell ids already recorded: not run again
  std::set<std::string> failed;  // cell ids recorded as failed: not run again, counted failed
  // Build the datasets of a family (same model and graphs, other feature modes) together.
  bool share_forward_passes = true;
  // Set by another thread: nothing new starts, running work is told to stop, RunCells returns
  // Cancelled once it has.
  const std::atomic<bool>* cancel = nullptr;
  int max_attempts = 5;  // per build and per cell, for retryable failures and lost datasets
  double first_backoff_seconds = 0.2;  // doubles per attempt, at most 10 s
  // Stop at the first cell or build that fails for good (the local runner) instead of
  // recording it and going on (the coordinator).
  bool stop_at_first_failure = false;
};

// Records a finished cell; the scheduler calls it from one thread at a time.
using RecordCell = std::function<absl::Status(const CellResult&)>;
// Records a cell that failed for good (after its retries).
using RecordFailure = std::function<absl::Status(const AblationCell&, const absl::Status&)>;

// OK when every cell is recorded (or recorded as failed); Cancelled when cancelled; the first
// failure when stop_at_first_failure; the error of `record` (nothing more is started then).
absl::Status RunCells(const std::vector<AblationCell>& cells, CellExecutor& executor,
                      const SchedulerOptions& options, const RecordCell& record,
                      const RecordFailure& record_failure,
                      const std::function<void(const AblationProgress&)>& on_progress = nullptr);

// Failures worth another try: the worker went away, was too slow, or the call was cut off.
bool IsRetryable(const absl::Status& status);

}  // namespace gp
