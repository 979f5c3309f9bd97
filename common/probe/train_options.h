// What a probe training is asked to do: the probe (kind and size), the task, the control and
// the optimization settings, and their names in specs and requests. No libtorch: specs and
// requests are parsed and checked without it (tests/fuzz).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

struct ProbeOptions {
  std::string kind = "pair-mlp";
  int hidden = 4096;
  int layers = 2;  // hidden layers of the MLPs, GCN layers of gcn
  double dropout = 0.0;
  bool gcn_edge_weights = true;
  int64_t heads_per_layer =
      0;  // logreg-head/-layer: from the dataset spec (0: every feature alone)
  int64_t directions = 1;
};

// The probes that are fitted per (layer, head) or per layer by Newton's method.
bool IsLogisticProbe(const std::string& kind);

// Every probe kind MakeProbe builds, in the order error messages list them.
const std::vector<std::string>& ProbeKinds();

enum class ProbeTask { kUndirected, kDirected };
// Errors name the field `task`.
absl::StatusOr<ProbeTask> ParseProbeTask(const std::string& name);

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

// The most a training may ask for (docs/RELIABILITY.md): a spec or a request over them is
// refused before any memory is reserved for it.
inline constexpr int kMaxProbeHidden = 65536;
inline constexpr int kMaxProbeLayers = 16;
inline constexpr int kMaxProbeEpochs = 100000;
inline constexpr int kMaxProbeBatchSize = 1 << 20;
inline constexpr int kMaxBootstrapResamples = 100000;

// InvalidArgument naming the field (`hidden`, `learning_rate`, ...) and its value for a probe
// kind MakeProbe does not build, a count outside 1..its maximum (0..for patience and
// bootstrap_resamples), dropout outside [0, 1), a learning rate not in (0, 10], a weight
// decay outside [0, 10] or a positive weight above 1e6 (<= 0: from the class balance), and for
// any number that is not finite.
absl::Status CheckTrainOptions(const TrainOptions& options);

}  // namespace gp
