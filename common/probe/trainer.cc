// The training loop: Adam with L2 weight decay, evaluation per epoch, best-epoch snapshot.
#include "common/probe/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/model/adam.h"

namespace gp {
namespace {

// Logits [G, N, N, K] of a probe on graphs `indices`, in batches, no gradients.
at::Tensor Predict(const Probe& probe, const at::Tensor& features, const at::Tensor& mask,
                   const at::Tensor& indices, int batch_size) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t s = 0; s < indices.size(0); s += batch_size) {
    const at::Tensor idx = indices.narrow(0, s, std::min<int64_t>(batch_size, indices.size(0) - s));
    parts.push_back(probe.Forward(features.index_select(0, idx), mask.index_select(0, idx), false));
  }
  return at::cat(parts);
}

std::vector<EdgeMetrics> MetricsPerOutput(const at::Tensor& logits, const at::Tensor& adjacency,
                                          const at::Tensor& mask, ProbeTask task) {
  std::vector<EdgeMetrics> out;
  for (int64_t k = 0; k < logits.size(3); ++k) {
    out.push_back(ComputeEdgeMetrics(PairsForTask(logits.select(3, k), adjacency, mask, task)));
  }
  return out;
}

}  // namespace

void ApplyFeatureLayout(const ProbeDataset& data, ProbeOptions* probe) {
  if (!data.spec.contains("feature_order")) return;
  const auto& order = data.spec["feature_order"];
  if (order.contains("heads")) probe->heads_per_layer = order["heads"].get<int64_t>();
  if (order.contains("directions")) {
    probe->directions = static_cast<int64_t>(order["directions"].size());
  }
}

absl::StatusOr<TrainResult> TrainProbe(const ProbeDataset& data, const TrainOptions& o,
                                       const std::function<void(const EpochRecord&)>& on_epoch) {
  if (o.epochs < 1 || o.batch_size < 1 || o.learning_rate <= 0) {
    return absl::InvalidArgumentError("--epochs and --batch must be >= 1 and --lr > 0");
  }
  at::manual_seed(o.seed);  // dropout masks
  TrainResult result;
  const at::Tensor mask = data.node_mask.to(at::kBool);
  at::Tensor adjacency = data.adjacency.to(at::kFloat);
  if (o.label_shuffle) {
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);
    adjacency = adjacency.index_select(0, at::randperm(data.num_graphs(), gen, at::kLong));
  }
  result.labels_used = adjacency;
  const at::Tensor train = data.Indices(0), val = data.Indices(1), test = data.Indices(2);

  // Standardize each feature with the training graphs' real pairs, so probes see unit scale.
  at::Tensor raw_features = data.features;
  if (o.positional_baseline) {
    if (!data.node_position.defined()) {
      return absl::InvalidArgumentError(
          "the positional baseline needs the dataset's 'node_position' tensor");
    }
    const at::Tensor d =
        data.node_position.unsqueeze(2) - data.node_position.unsqueeze(1);  // [G, N, N]
    raw_features = at::stack({d, d.abs()}, -1);
  }
  const int64_t num_features = raw_features.size(3);
  const at::Tensor pair_mask =
      (mask.unsqueeze(2).logical_and(mask.unsqueeze(1))).index_select(0, train);
  const at::Tensor train_pairs = raw_features.index_select(0, train)
                                     .masked_select(pair_mask.unsqueeze(3))
                                     .view({-1, num_features});
  const at::Tensor mean = train_pairs.mean(0), std = train_pairs.std(0).clamp_min(1e-6);
  const at::Tensor features = (raw_features - mean) / std;

  ProbeOptions probe_options = o.probe;
  if (o.positional_baseline) probe_options.directions = num_features;  // logreg-head: one probe
  GP_ASSIGN_OR_RETURN(std::unique_ptr<Probe> probe,
                      MakeProbe(probe_options, data.num_nodes(), num_features, o.seed));
  AdamOptions adam_options;
  adam_options.learning_rate = o.learning_rate;
  adam_options.weight_decay = o.weight_decay;
  Adam adam(probe->Parameters(), adam_options);

  // Positive weight from the training pairs when asked.
  TaskPairs train_task =
      PairsForTask(at::zeros_like(adjacency.index_select(0, train)),
                   adjacency.index_select(0, train), mask.index_select(0, train), o.task);
  const double positives = train_task.labels.masked_select(train_task.valid).sum().item<double>();
  const double total = train_task.valid.sum().item<double>();
  if (positives == 0)
    return absl::InvalidArgumentError("the training labels have no positive pair");
  const double pos_weight =
      o.positive_weight > 0 ? o.positive_weight : (total - positives) / positives;

  at::Generator shuffle = at::make_generator<at::CPUGeneratorImpl>(o.seed + 2);
  double best_f1 = -1;
  int epochs_without_gain = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const at::Tensor order = train.index_select(0, at::randperm(train.size(0), shuffle, at::kLong));
    double loss_sum = 0;
    int batches = 0;
    for (int64_t s = 0; s < order.size(0); s += o.batch_size) {
      const at::Tensor idx = order.narrow(0, s, std::min<int64_t>(o.batch_size, order.size(0) - s));
      const at::Tensor logits =
          probe->Forward(features.index_select(0, idx), mask.index_select(0, idx), true);
      // Every output's loss at once (logreg-head has one output per head): the mean over
      // outputs of each output's pair-averaged, positive-weighted BCE.
      const TaskPairs p =
          PairsForTask(at::zeros({idx.size(0), logits.size(1), logits.size(2)}),
                       adjacency.index_select(0, idx), mask.index_select(0, idx), o.task);
      at::Tensor scores =
          o.task == ProbeTask::kUndirected ? (logits + logits.transpose(1, 2)) / 2 : logits;
      scores = scores.reshape({idx.size(0), -1, logits.size(3)});
      const at::Tensor weights =
          (p.valid.to(at::kFloat) * (1 + (pos_weight - 1) * p.labels)).unsqueeze(2);
      at::Tensor loss =
          at::binary_cross_entropy_with_logits(scores, p.labels.unsqueeze(2).expand_as(scores),
                                               weights.expand_as(scores), {}, at::Reduction::Sum) /
          (p.valid.sum().clamp_min(1) * static_cast<double>(logits.size(3)));
      loss.backward();
      adam.Step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const auto val_metrics =
        MetricsPerOutput(Predict(*probe, features, mask, val, o.batch_size),
                         adjacency.index_select(0, val), mask.index_select(0, val), o.task);
    int64_t best_k = 0;
    for (int64_t k = 1; k < static_cast<int64_t>(val_metrics.size()); ++k) {
      if (val_metrics[k].f1 > val_metrics[best_k].f1) best_k = k;
    }
    EpochRecord record{epoch, loss_sum / std::max(batches, 1), val_metrics[best_k]};
    result.history.push_back(record);
    if (on_epoch) on_epoch(record);
    if (val_metrics[best_k].f1 > best_f1) {
      best_f1 = val_metrics[best_k].f1;
      result.best_epoch = epoch;
      result.best_parameters.clear();
      for (const auto& p : probe->Parameters())
        result.best_parameters.push_back(p.detach().clone());
      epochs_without_gain = 0;
    } else if (o.patience > 0 && ++epochs_without_gain >= o.patience) {
      break;
    }
  }

  // The selected parameters, evaluated once on validation and test.
  {
    at::NoGradGuard no_grad;
    auto params = probe->Parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(result.best_parameters[i]);
  }
  const auto val_metrics =
      MetricsPerOutput(Predict(*probe, features, mask, val, o.batch_size),
                       adjacency.index_select(0, val), mask.index_select(0, val), o.task);
  for (int64_t k = 1; k < static_cast<int64_t>(val_metrics.size()); ++k) {
    if (val_metrics[k].f1 > val_metrics[result.best_output].f1) result.best_output = k;
  }
  result.val = val_metrics[result.best_output];
  const at::Tensor test_logits = Predict(*probe, features, mask, test, o.batch_size);
  result.test = ComputeEdgeMetrics(PairsForTask(test_logits.select(3, result.best_output),
                                                adjacency.index_select(0, test),
                                                mask.index_select(0, test), o.task));
  result.test_probabilities = at::sigmoid(test_logits.select(3, result.best_output));
  result.test_indices = test;
  if (probe->outputs() > 1) {
    const int64_t heads = o.probe.heads_per_layer > 0 ? o.probe.heads_per_layer : probe->outputs();
    for (int64_t k = 0; k < probe->outputs(); ++k) {
      result.head_ranking.push_back({k / heads, k % heads, val_metrics[k].f1, val_metrics[k].auc});
    }
    std::sort(result.head_ranking.begin(), result.head_ranking.end(),
              [](const HeadScore& a, const HeadScore& b) {
                return a.val_f1 != b.val_f1 ? a.val_f1 > b.val_f1 : a.val_auc > b.val_auc;
              });
  }
  return result;
}

}  // namespace gp
