// Runs an ablation's cells in this process (the scheduler on the local executor): builds each
// dataset once (shared by its probes), trains the probes and controls, and appends each
// finished cell's result to OUT/results.jsonl at once, so an interrupted run resumes where it
// stopped. Datasets that differ only in feature mode are built together from one forward pass.
// At the end it writes the result files (ResultFiles): results.csv, summary.csv, results.json
// and each model's head ranking (heads-<model>.csv). The coordinator serves the same files.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/ablation_scheduler.h"
#include "common/ablation/ablation_spec.h"
#include "common/ablation/result_tables.h"
#include "nlohmann/json.hpp"

namespace gp {

struct AblationRunOptions {
  std::string out_dir;
  // Delete each dataset file once its cells are done (they are rebuilt on a rerun).
  bool delete_datasets = false;
  // Build the datasets of a family (same model and graphs, other feature modes) from one
  // forward pass; off builds each dataset alone (for measuring what sharing saves).
  bool share_forward_passes = true;
  // Set by another thread to stop between forward passes and epochs (Cancelled); finished
  // cells stay in results.jsonl.
  const std::atomic<bool>* cancel = nullptr;
};

// OUT/spec.json fixes what OUT holds: creates OUT and writes it, or checks that the one there
// is this spec's (FailedPrecondition naming OUT otherwise, rather than a mix of results).
absl::Status ClaimOutDir(const AblationSpec& spec, const std::string& out_dir);

// The result files of an ablation, named as they are written: results.csv, summary.csv,
// results.json and heads-<model>.csv for each model with a per-head probe.
std::vector<std::pair<std::string, std::string>> ResultFiles(
    const AblationSpec& spec, const std::vector<CellResult>& results);

// The results of every cell, resumed ones included, in grid order. An OUT holding another
// spec's results is an error (FailedPrecondition) rather than a mix.
absl::StatusOr<std::vector<CellResult>> RunAblation(
    const AblationSpec& spec, const AblationRunOptions& options,
    const std::function<void(const AblationProgress&)>& on_progress = nullptr);

}  // namespace gp
