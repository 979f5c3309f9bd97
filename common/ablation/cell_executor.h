// Where an ablation's work runs. The scheduler (ablation_scheduler.h) decides what runs when;
// an executor builds the datasets of a family and trains one cell's probe on its dataset. The
// local executor (local_cell_executor.h) does both in this process; the coordinator's remote
// executor asks feature services and trainers. The scheduler calls an executor from several
// threads at once and never knows which kind it has.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/ablation_spec.h"
#include "common/ablation/result_tables.h"

namespace gp {

// A built dataset as the executor finds it again: a content key or file, and where it lies.
struct DatasetHandle {
  std::string key;
  std::string location;
};

class CellExecutor {
 public:
  virtual ~CellExecutor() = default;

  // Builds the datasets of one family (specs equal but for their feature options) from one
  // forward pass per prompt; one handle per spec, in order. `cancel` set by another thread
  // stops it (Cancelled). Retryable failures (the scheduler tries again) are Unavailable,
  // DeadlineExceeded or Aborted.
  virtual absl::StatusOr<std::vector<DatasetHandle>> BuildFamily(
      const std::vector<DatasetSpec>& specs, const std::atomic<bool>* cancel) = 0;

  // Trains `cell`'s probe on its dataset; the result described by DescribeCell. NotFound means
  // the dataset is no longer where `dataset` says (a feature service deleted it to keep its
  // disk budget): the scheduler builds the family again and retries the cell on the new build.
  virtual absl::StatusOr<CellResult> RunCell(const AblationCell& cell, const DatasetHandle& dataset,
                                             const std::atomic<bool>* cancel) = 0;

  // Called once every cell of a dataset has finished.
  virtual void ReleaseDataset(const DatasetHandle& /*dataset*/) {}

  // How many builds and cells may run at once now (asked again before each start, so a
  // cluster that grows or shrinks is followed); 0 waits until there is room.
  virtual int BuildSlots() = 0;
  virtual int CellSlots() = 0;
};

// A cell's result with its settings filled in and no metrics yet.
CellResult DescribeCell(const AblationCell& cell);

}  // namespace gp
