// Training and honest evaluation of a probe on a dataset: Adam, batches of graphs,
// positive-class weighting, model selection on the validation split only (best epoch by
// validation F1, optional early stopping), the test split evaluated once at the end with
// the selected parameters. Controls: label shuffle (each graph gets another graph's
// adjacency: Hewitt and Liang's control task) and the positional baseline.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe/dataset.h"
#include "common/probe/metrics.h"
#include "common/probe/probes.h"

namespace gp {

struct TrainOptions {
  ProbeOptions probe;
  ProbeTask task = ProbeTask::kUndirected;
  bool label_shuffle = false;
  // Replace the attention features by the token distance of the two mentions (d and |d|):
  // what a probe gets from position alone. Needs the dataset's node_position.
  bool positional_baseline = false;
  int epochs = 200;
  double learning_rate = 1e-3;
  int batch_size = 128;
  double weight_decay = 0.0;
  double positive_weight = 1.0;  // <= 0: negatives / positives of the training pairs
  int patience = 0;  // early stopping after this many epochs without a better F1; 0: off
  uint64_t seed = 42;
};

struct EpochRecord {
  int epoch;
  double train_loss;
  EdgeMetrics val;  // of the best head for multi-head probes
};

struct HeadScore {
  int64_t layer, head;
  double val_f1, val_auc;
};

struct TrainResult {
  EdgeMetrics val, test;
  int best_epoch = 0;
  int64_t best_output = 0;  // logreg-head: the head whose metrics are reported
  std::vector<EpochRecord> history;
  std::vector<HeadScore> head_ranking;  // logreg-head: every (layer, head), best first
  std::vector<at::Tensor> best_parameters;
  at::Tensor test_probabilities;  // [G_test, N, N] of the reported output
  at::Tensor test_indices;
  at::Tensor labels_used;  // adjacency after any control, [G, N, N]
};

// The per-head probe's feature layout (heads per layer, directions) from the dataset's
// metadata, where it records one.
void ApplyFeatureLayout(const ProbeDataset& data, ProbeOptions* probe);

absl::StatusOr<TrainResult> TrainProbe(
    const ProbeDataset& data, const TrainOptions& options,
    const std::function<void(const EpochRecord&)>& on_epoch = nullptr);

}  // namespace gp
