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

namespace gp {

// What the probe is trained on besides the real task:
// - label shuffle: each graph gets another graph's adjacency, in every split. Any probe lands at
//   chance by construction: it shows that nothing leaks into the test split, not selectivity.
// - control task (Hewitt and Liang 2019): each pair of node *names* gets a fixed random label
//   with the real edge density (needs the dataset's `node_name_id`). A probe can only score by
//   memorising names; real minus control is the probe's selectivity.
// - positional: the features are replaced by token offsets between the two nodes' mentions
//   (the dataset's `position_features`): what position alone explains.
enum class ProbeControl { kNone, kLabelShuffle, kControlTask, kPositional };
std::string ProbeControlName(
    ProbeControl control);  // "", "label-shuffle", "control-task", "positional"
// Errors name the field `control`.
absl::StatusOr<ProbeControl> ParseProbeControl(const std::string& name);

struct TrainOptions {
  ProbeOptions probe;
  ProbeTask task = ProbeTask::kUndirected;
  ProbeControl control = ProbeControl::kNone;
  int epochs = 200;  // gradient probes; the logistic probes run Newton to convergence
  double learning_rate = 1e-3;
  int batch_size = 128;
  double weight_decay = 0.0;
  double positive_weight = 1.0;  // <= 0: negatives / positives of the training pairs
  int patience = 0;  // early stopping after this many epochs without a better F1; 0: off
  int bootstrap_resamples = 1000;  // test-metric intervals over test graphs; 0: none
  uint64_t seed = 42;  // initialization, batches, dropout, controls: each from its own generator
};

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
