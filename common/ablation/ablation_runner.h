// Runs an ablation's cells on one machine: builds each dataset once (shared by its probes),
// trains the probes and controls, and appends each finished cell's result to
// OUT/results.jsonl at once, so an interrupted run resumes where it stopped. Datasets that
// differ only in feature mode are built together from one forward pass. At the end it writes
// results.csv, summary.csv, results.json and each model's head ranking (heads-<model>.csv).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/ablation_spec.h"
#include "common/ablation/result_tables.h"
#include "nlohmann/json.hpp"

namespace gp {

struct AblationProgress {
  int cells_done = 0;  // including resumed ones
  int cells_total = 0;
  int cells_resumed = 0;
  std::string current;  // the cell (or dataset) being worked on
  std::string stage;    // "dataset", "probe" or "done"
  double elapsed_seconds = 0;
  double dataset_seconds = 0;  // of this run, building datasets (forward passes and pooling)
  double probe_seconds = 0;    // of this run, training probes
  double eta_seconds = -1;     // unknown until a cell of this run finished
  const CellResult* finished = nullptr;  // set when a cell just finished
};

struct AblationRunOptions {
  std::string out_dir;
  // Delete each dataset file once its cells are done (they are rebuilt on a rerun).
  bool delete_datasets = false;
  // Build the datasets of a family (same model and graphs, other feature modes) from one
  // forward pass; off builds each dataset alone (for measuring what sharing saves).
  bool share_forward_passes = true;
  // Set by another thread to stop between forward passes and cells (Cancelled); finished
  // cells stay in results.jsonl.
  const std::atomic<bool>* cancel = nullptr;
};

// The results of every cell, resumed ones included, in grid order. An OUT holding another
// spec's results is an error (FailedPrecondition) rather than a mix.
absl::StatusOr<std::vector<CellResult>> RunAblation(
    const AblationSpec& spec, const AblationRunOptions& options,
    const std::function<void(const AblationProgress&)>& on_progress = nullptr);

}  // namespace gp
