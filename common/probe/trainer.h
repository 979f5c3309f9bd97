// Training and honest evaluation of a probe on a dataset. Gradient probes (pair-mlp,
// graph-mlp, gcn): Adam, batches of graphs, positive-class weighting, the epoch with the best
// validation F1 (optional early stopping). Logistic probes (logreg-head: one per layer and
// head; logreg-layer: one per layer over its heads): each fitted to convergence on the
// training split, the output with the best validation AUC selected, its threshold chosen for
// F1 on validation. Either way the test split is evaluated once, with what validation chose,
// and gets a bootstrap interval over test graphs.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe/dataset.h"
#include "common/probe/metrics.h"
#include "common/probe/probes.h"
#include "common/probe/train_options.h"

namespace gp {

struct EpochRecord {
  int epoch;  // Newton iteration for the logistic probes
  double train_loss;
  EdgeMetrics val;  // of the best output for multi-output probes
};

// One output of a logistic probe: a (layer, head), or a whole layer (head == -1).
struct HeadScore {
  int64_t layer, head;
  double val_f1, val_auc;  // val_f1 at the output's own threshold chosen on validation
};

struct TrainResult {
  EdgeMetrics val, test;
  MetricIntervals test_interval;  // bootstrap over test graphs
  double threshold = 0;           // logit threshold of the predictions (chosen on validation)
  int best_epoch = 0;
  int64_t best_output = 0;  // logistic probes: the output selected by validation AUC
  std::vector<EpochRecord> history;
  std::vector<HeadScore> head_ranking;  // logistic probes: every output, best validation AUC first
  std::vector<std::pair<std::string, at::Tensor>> best_parameters;  // named, for safetensors
  at::Tensor test_probabilities;  // [G_test, N, N] of the reported output
  at::Tensor test_indices;
  at::Tensor labels_used;  // adjacency after any control, [G, N, N]
};

// The per-head probe's feature layout (heads per layer, directions) from the dataset's
// metadata, where it records one.
void ApplyFeatureLayout(const ProbeDataset& data, ProbeOptions* probe);

// `cancel`, set by another thread, stops training before the next epoch (Cancelled).
absl::StatusOr<TrainResult> TrainProbe(
    const ProbeDataset& data, const TrainOptions& options,
    const std::function<void(const EpochRecord&)>& on_epoch = nullptr,
    const std::atomic<bool>* cancel = nullptr);

}  // namespace gp
