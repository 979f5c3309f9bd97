// The training loops: Adam for the gradient probes, Newton for the logistic probes; labels and
// features after any control; selection on validation; the test split evaluated once.
#include "common/probe/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/core/splitmix64.h"
#include "common/core/status.h"
#include "common/model/adam.h"
#include "common/probe/logistic.h"

namespace gp {
namespace {

// Seeds of the generators one training draws from, one stream each.
enum SeedStream : uint64_t {
  kInit = 0,
  kLabelShuffle = 1,
  kBatches = 2,
  kDropout = 3,
  kControlTask = 4,
  kBootstrap = 5
};

uint64_t StreamSeed(uint64_t seed, SeedStream stream) {
  return stream == kInit ? seed : SplitMix64Hash(seed ^ (0x51ed270b27d0ef4dULL * stream));
}

// A fixed pseudo-random label for a pair of names, with probability `density`.
bool NamePairLabel(uint64_t seed, int64_t a, int64_t b, double density) {
  const uint64_t h =
      SplitMix64Hash(SplitMix64Hash(seed ^ static_cast<uint64_t>(a)) ^ static_cast<uint64_t>(b));
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0) < density;
}

// The share of positive task pairs among the training graphs.
double TrainingDensity(const at::Tensor& adjacency, const at::Tensor& mask, const at::Tensor& train,
                       ProbeTask task) {
  const TaskPairs p =
      PairsForTask(at::zeros_like(adjacency.index_select(0, train)),
                   adjacency.index_select(0, train), mask.index_select(0, train), task);
  return p.labels.masked_select(p.valid).mean().item<double>();
}

// Hewitt and Liang's control task: labels that are a fixed function of the two names.
absl::StatusOr<at::Tensor> ControlTaskAdjacency(const ProbeDataset& data, const at::Tensor& mask,
                                                ProbeTask task, uint64_t seed) {
  if (!data.node_name_id.defined()) {
    return absl::InvalidArgumentError(
        "the control task needs the dataset's 'node_name_id' tensor (rebuild the dataset)");
  }
  const double density =
      TrainingDensity(data.adjacency.to(at::kFloat), mask, data.Indices(0), task);
  const int64_t g = data.num_graphs(), n = data.num_nodes();
  at::Tensor out = at::zeros({g, n, n});
  const at::Tensor names = data.node_name_id.contiguous();
  const at::Tensor real = mask.contiguous();
  auto name = names.accessor<int64_t, 2>();
  auto is_real = real.accessor<bool, 2>();
  auto label = out.accessor<float, 3>();
  for (int64_t b = 0; b < g; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (i == j || !is_real[b][i] || !is_real[b][j]) continue;
        if (task == ProbeTask::kUndirected) {
          // One label per unordered pair, stored at (i, j) with i < j: the undirected task
          // reads an edge either way.
          if (i > j) continue;
          label[b][i][j] = NamePairLabel(seed, std::min(name[b][i], name[b][j]),
                                         std::max(name[b][i], name[b][j]), density);
        } else {
          label[b][i][j] = NamePairLabel(seed, name[b][i], name[b][j], density);
        }
      }
    }
  }
  return out;
}

absl::StatusOr<at::Tensor> LabelsFor(const ProbeDataset& data, const at::Tensor& mask,
                                     const TrainOptions& o) {
  const at::Tensor adjacency = data.adjacency.to(at::kFloat);
  switch (o.control) {
    case ProbeControl::kLabelShuffle: {
      at::Generator gen =
          at::make_generator<at::CPUGeneratorImpl>(StreamSeed(o.seed, kLabelShuffle));
      return adjacency.index_select(0, at::randperm(data.num_graphs(), gen, at::kLong));
    }
    case ProbeControl::kControlTask:
      return ControlTaskAdjacency(data, mask, o.task, StreamSeed(o.seed, kControlTask));
    default:
      return adjacency;
  }
}

// Attention features, or mention offsets for the positional baseline; standardized with the
// training graphs' real pairs so every probe sees unit scale.
absl::StatusOr<at::Tensor> StandardizedFeatures(const ProbeDataset& data, const at::Tensor& mask,
                                                const at::Tensor& train, const TrainOptions& o) {
  at::Tensor raw = data.features;
  if (o.control == ProbeControl::kPositional) {
    if (!data.position_features.defined()) {
      return absl::InvalidArgumentError(
          "the positional baseline needs the dataset's 'position_features' tensor (rebuild the "
          "dataset)");
    }
    raw = data.position_features;
  }
  const int64_t f = raw.size(3);
  const at::Tensor pair_mask =
      mask.unsqueeze(2).logical_and(mask.unsqueeze(1)).index_select(0, train);
  const at::Tensor train_pairs =
      raw.index_select(0, train).masked_select(pair_mask.unsqueeze(3)).view({-1, f});
  const at::Tensor mean = train_pairs.mean(0), std = train_pairs.std(0).clamp_min(1e-6);
  return (raw - mean) / std;
}

// Everything both training paths share.
struct Prepared {
  at::Tensor features;   // standardized [G, N, N, F]
  at::Tensor adjacency;  // labels after any control, float [G, N, N]
  at::Tensor mask;       // bool [G, N]
  at::Tensor train, val, test;
  double positive_weight = 1;
};

TaskPairs SplitPairs(const Prepared& p, const at::Tensor& logits, const at::Tensor& split,
                     ProbeTask task) {
  return PairsForTask(logits, p.adjacency.index_select(0, split), p.mask.index_select(0, split),
                      task);
}

// Test metrics with the threshold validation chose, their interval, the probabilities.
void EvaluateTest(const Prepared& p, const at::Tensor& test_logits, double threshold,
                  const TrainOptions& o, TrainResult* result) {
  const TaskPairs pairs = SplitPairs(p, test_logits - threshold, p.test, o.task);
  result->test = ComputeEdgeMetrics(pairs);
  result->test_interval =
      BootstrapOverGraphs(pairs, o.bootstrap_resamples, StreamSeed(o.seed, kBootstrap));
  result->threshold = threshold;
  result->test_probabilities = at::sigmoid(test_logits - threshold);
  result->test_indices = p.test;
}

// Logits [G, N, N, K] of fitted logistic probes over groups of D consecutive features.
at::Tensor GroupLogits(const LogisticFit& fit, const at::Tensor& features, int64_t group) {
  const auto s = features.sizes();
  const at::Tensor x = features.to(at::kDouble).reshape({s[0], s[1], s[2], -1, group});
  return ((x * fit.weight).sum(-1) + fit.bias).to(at::kFloat);
}

absl::StatusOr<TrainResult> TrainLogistic(const Prepared& p, const TrainOptions& o,
                                          const ProbeOptions& probe,
                                          const std::function<void(const EpochRecord&)>& on_epoch) {
  const int64_t f = p.features.size(3), n = p.features.size(1);
  const int64_t directions = std::max<int64_t>(1, probe.directions);
  const int64_t heads = probe.heads_per_layer > 0 ? probe.heads_per_layer : f / directions;
  const bool per_layer = probe.kind == "logreg-layer";
  const int64_t group = per_layer ? heads * directions : directions;
  if (f % group != 0) {
    return absl::InvalidArgumentError(absl::StrCat(probe.kind, ": ", f,
                                                   " features are not a multiple of groups of ",
                                                   group, " (heads x directions)"));
  }
  const int64_t k = f / group;

  // The design of the task's pairs: an undirected pair's logit is the mean of both
  // directions' logits, which for a linear probe is the probe of the mean features.
  const at::Tensor train_features = p.features.index_select(0, p.train);
  const at::Tensor symmetric = o.task == ProbeTask::kUndirected
                                   ? (train_features + train_features.transpose(1, 2)) / 2
                                   : train_features;
  const TaskPairs train_pairs = SplitPairs(p, at::zeros({p.train.size(0), n, n}), p.train, o.task);
  const at::Tensor x = symmetric.reshape({p.train.size(0), n * n, f})
                           .masked_select(train_pairs.valid.unsqueeze(2))
                           .view({-1, k, group})
                           .permute({1, 0, 2});
  const at::Tensor y = train_pairs.labels.masked_select(train_pairs.valid);
  const at::Tensor weight = 1 + (p.positive_weight - 1) * y;
  const LogisticFit fit = FitLogisticGroups(x, y, weight);

  TrainResult result;
  result.best_epoch = fit.iterations;
  // Each output on validation: its AUC ranks it, its own F1-best threshold gives its F1.
  const at::Tensor val_logits = GroupLogits(fit, p.features.index_select(0, p.val), group);
  std::vector<double> aucs(k);
  std::vector<F1Threshold> thresholds(k);
  for (int64_t out = 0; out < k; ++out) {
    const TaskPairs pairs = SplitPairs(p, val_logits.select(3, out), p.val, o.task);
    aucs[out] =
        RocAuc(pairs.logits.masked_select(pairs.valid), pairs.labels.masked_select(pairs.valid));
    thresholds[out] = BestF1Threshold(pairs);
    result.head_ranking.push_back({per_layer ? out : out / heads, per_layer ? -1 : out % heads,
                                   thresholds[out].f1, aucs[out]});
  }
  result.best_output = std::max_element(aucs.begin(), aucs.end()) - aucs.begin();
  std::stable_sort(result.head_ranking.begin(), result.head_ranking.end(),
                   [](const HeadScore& a, const HeadScore& b) { return a.val_auc > b.val_auc; });
  const double threshold = thresholds[result.best_output].logit;
  result.val = ComputeEdgeMetrics(
      SplitPairs(p, val_logits.select(3, result.best_output) - threshold, p.val, o.task));
  for (size_t i = 0; i < fit.loss_history.size(); ++i) {
    EpochRecord record{static_cast<int>(i + 1), fit.loss_history[i],
                       i + 1 == fit.loss_history.size() ? result.val : EdgeMetrics{}};
    result.history.push_back(record);
    if (on_epoch) on_epoch(record);
  }
  const at::Tensor test_logits = GroupLogits(fit, p.features.index_select(0, p.test), group);
  EvaluateTest(p, test_logits.select(3, result.best_output), threshold, o, &result);
  result.best_parameters = {{"weight", fit.weight.to(at::kFloat)},
                            {"bias", fit.bias.to(at::kFloat)}};
  return result;
}

// Logits [G, N, N] of a gradient probe on graphs `indices`, in batches, no gradients.
at::Tensor Predict(const Probe& probe, const Prepared& p, const at::Tensor& indices,
                   int batch_size) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t s = 0; s < indices.size(0); s += batch_size) {
    const at::Tensor idx = indices.narrow(0, s, std::min<int64_t>(batch_size, indices.size(0) - s));
    parts.push_back(
        probe.Forward(p.features.index_select(0, idx), p.mask.index_select(0, idx), nullptr));
  }
  return at::cat(parts).select(3, 0);
}

absl::StatusOr<TrainResult> TrainGradient(const Prepared& p, const TrainOptions& o,
                                          const ProbeOptions& probe_options,
                                          const std::function<void(const EpochRecord&)>& on_epoch,
                                          const std::atomic<bool>* cancel) {
  GP_ASSIGN_OR_RETURN(
      std::unique_ptr<Probe> probe,
      MakeProbe(probe_options, p.features.size(1), p.features.size(3), StreamSeed(o.seed, kInit)));
  AdamOptions adam_options;
  adam_options.learning_rate = o.learning_rate;
  adam_options.weight_decay = o.weight_decay;
  Adam adam(probe->Parameters(), adam_options);
  at::Generator shuffle = at::make_generator<at::CPUGeneratorImpl>(StreamSeed(o.seed, kBatches));
  at::Generator dropout = at::make_generator<at::CPUGeneratorImpl>(StreamSeed(o.seed, kDropout));

  TrainResult result;
  std::vector<at::Tensor> best;
  double best_f1 = -1;
  int epochs_without_gain = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    if (cancel != nullptr && cancel->load()) {
      return absl::CancelledError(absl::StrCat("training cancelled before epoch ", epoch));
    }
    const at::Tensor order =
        p.train.index_select(0, at::randperm(p.train.size(0), shuffle, at::kLong));
    double loss_sum = 0;
    int batches = 0;
    for (int64_t s = 0; s < order.size(0); s += o.batch_size) {
      const at::Tensor idx = order.narrow(0, s, std::min<int64_t>(o.batch_size, order.size(0) - s));
      const at::Tensor logits =
          probe->Forward(p.features.index_select(0, idx), p.mask.index_select(0, idx), &dropout)
              .select(3, 0);
      const TaskPairs pairs = SplitPairs(p, logits, idx, o.task);
      const at::Tensor weights =
          pairs.valid.to(at::kFloat) * (1 + (p.positive_weight - 1) * pairs.labels);
      at::Tensor loss = at::binary_cross_entropy_with_logits(pairs.logits, pairs.labels, weights,
                                                             {}, at::Reduction::Sum) /
                        pairs.valid.sum().clamp_min(1);
      loss.backward();
      adam.Step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const EdgeMetrics val =
        ComputeEdgeMetrics(SplitPairs(p, Predict(*probe, p, p.val, o.batch_size), p.val, o.task));
    EpochRecord record{epoch, loss_sum / std::max(batches, 1), val};
    result.history.push_back(record);
    if (on_epoch) on_epoch(record);
    if (val.f1 > best_f1) {
      best_f1 = val.f1;
      result.best_epoch = epoch;
      best.clear();
      for (const auto& param : probe->Parameters()) best.push_back(param.detach().clone());
      epochs_without_gain = 0;
    } else if (o.patience > 0 && ++epochs_without_gain >= o.patience) {
      break;
    }
  }
  {  // the selected epoch's parameters
    at::NoGradGuard no_grad;
    auto params = probe->Parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best[i]);
  }
  for (size_t i = 0; i < best.size(); ++i) {
    result.best_parameters.push_back({absl::StrCat("parameter_", i), best[i]});
  }
  result.val =
      ComputeEdgeMetrics(SplitPairs(p, Predict(*probe, p, p.val, o.batch_size), p.val, o.task));
  EvaluateTest(p, Predict(*probe, p, p.test, o.batch_size), 0.0, o, &result);
  return result;
}

}  // namespace

void ApplyFeatureLayout(const ProbeDataset& data, ProbeOptions* probe) {
  if (!data.spec.is_object() || !data.spec.contains("feature_order")) return;
  const auto& order = data.spec["feature_order"];
  if (order.contains("heads") && order["heads"].is_number_integer()) {
    probe->heads_per_layer = order["heads"].get<int64_t>();
  }
  if (order.contains("directions") && order["directions"].is_array()) {
    probe->directions = static_cast<int64_t>(order["directions"].size());
  }
}

absl::StatusOr<TrainResult> TrainProbe(const ProbeDataset& data, const TrainOptions& o,
                                       const std::function<void(const EpochRecord&)>& on_epoch,
                                       const std::atomic<bool>* cancel) {
  // Every caller gets the trainer service's checks: a negative weight decay or positive weight,
  // a patience below 0 or 16+ layers are refused here too, not trained on.
  GP_RETURN_IF_ERROR(CheckTrainOptions(o));
  try {
    Prepared p;
    p.mask = data.node_mask.to(at::kBool);
    p.train = data.Indices(0);
    p.val = data.Indices(1);
    p.test = data.Indices(2);
    GP_ASSIGN_OR_RETURN(p.adjacency, LabelsFor(data, p.mask, o));
    GP_ASSIGN_OR_RETURN(p.features, StandardizedFeatures(data, p.mask, p.train, o));
    const double density = TrainingDensity(p.adjacency, p.mask, p.train, o.task);
    if (!(density > 0))
      return absl::InvalidArgumentError("the training labels have no positive pair");
    p.positive_weight = o.positive_weight > 0 ? o.positive_weight : (1 - density) / density;

    ProbeOptions probe = o.probe;
    // Position features form one group of their own.
    if (o.control == ProbeControl::kPositional) {
      probe.heads_per_layer = 1;
      probe.directions = p.features.size(3);
    }
    // A logistic fit is one Newton solve (well under an epoch of a gradient probe): cancellation
    // is checked around it.
    if (cancel != nullptr && cancel->load()) return absl::CancelledError("training cancelled");
    absl::StatusOr<TrainResult> result = IsLogisticProbe(probe.kind)
                                             ? TrainLogistic(p, o, probe, on_epoch)
                                             : TrainGradient(p, o, probe, on_epoch, cancel);
    GP_RETURN_IF_ERROR(result.status());
    result->labels_used = p.adjacency;
    return result;
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("probe training failed: ", e.what_without_backtrace()));
  }
}

}  // namespace gp
