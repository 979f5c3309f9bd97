// Runs an ablation's cells on one machine: builds each dataset once (shared by its probes),
// trains the probes and controls, and appends each finished cell's result to
// OUT/results.jsonl at once, so an interrupted run resumes where it stopped. At the end it
// writes results.csv, results.json and each model's head ranking (heads-<model>.csv).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/ablation_spec.h"
#include "nlohmann/json.hpp"

namespace gp {

struct CellResult {
  std::string cell_id, dataset_id, model, probe, control;
  int graph_size = 0, permutations = 0, graphs = 0;
  std::string generator, notation, names, feature_mode;
  uint64_t seed = 0;
  EdgeMetrics val, test;
  int best_epoch = 0;
  std::vector<HeadScore> head_ranking;  // logreg-head only
  double probe_seconds = 0;

  nlohmann::json ToJson() const;
  static absl::StatusOr<CellResult> FromJson(const nlohmann::json& json);
};

struct AblationProgress {
  int cells_done = 0;  // including resumed ones
  int cells_total = 0;
  int cells_resumed = 0;
  std::string current;  // the cell (or dataset) being worked on
  std::string stage;    // "dataset", "probe" or "done"
  double elapsed_seconds = 0;
  double eta_seconds = -1;               // unknown until a cell of this run finished
  const CellResult* finished = nullptr;  // set when a cell just finished
};

struct AblationRunOptions {
  std::string out_dir;
  // Delete each dataset file once its cells are done (they are rebuilt on a rerun).
  bool delete_datasets = false;
};

// The results of every cell, resumed ones included, in grid order. An OUT holding another
// spec's results is an error (FailedPrecondition) rather than a mix.
absl::StatusOr<std::vector<CellResult>> RunAblation(
    const AblationSpec& spec, const AblationRunOptions& options,
    const std::function<void(const AblationProgress&)>& on_progress = nullptr);

// Mean validation F1 of each (layer, head) over a model's logreg-head cells (no controls), best
// first.
std::vector<HeadScore> ModelHeadRanking(const std::vector<CellResult>& results,
                                        const std::string& model);

// results.csv: one row per cell.
std::string ResultsCsv(const std::vector<CellResult>& results);

}  // namespace gp
