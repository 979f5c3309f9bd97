// Metrics over task pairs.
#include "common/probe/metrics.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace gp {

absl::StatusOr<ProbeTask> ParseProbeTask(const std::string& name) {
  if (name == "undirected") return ProbeTask::kUndirected;
  if (name == "directed") return ProbeTask::kDirected;
  return absl::InvalidArgumentError(
      absl::StrCat("--task '", name, "': expected undirected or directed"));
}

nlohmann::json EdgeMetrics::ToJson() const {
  return {{"loss", loss}, {"accuracy", accuracy}, {"precision", precision}, {"recall", recall},
          {"f1", f1},     {"auc", auc},           {"exact_graphs", exact},  {"pairs", pairs}};
}

TaskPairs PairsForTask(const at::Tensor& logits, const at::Tensor& adjacency,
                       const at::Tensor& node_mask, ProbeTask task) {
  const int64_t g = logits.size(0), n = logits.size(1);
  at::Tensor real = node_mask.to(at::kBool);
  at::Tensor pair_real = real.unsqueeze(2).logical_and(real.unsqueeze(1));  // [G, N, N]
  at::Tensor adj = adjacency.to(at::kFloat);
  at::Tensor off_diagonal = at::ones({n, n}, at::kBool).triu(1);
  TaskPairs out;
  if (task == ProbeTask::kUndirected) {
    out.logits = (logits + logits.transpose(1, 2)) / 2;
    out.labels = (adj + adj.transpose(1, 2)).clamp_max(1);
    out.valid = pair_real.logical_and(off_diagonal.unsqueeze(0));
  } else {
    out.logits = logits;
    out.labels = adj;
    out.valid = pair_real.logical_and(at::eye(n, at::kBool).logical_not().unsqueeze(0));
  }
  out.logits = out.logits.reshape({g, n * n});
  out.labels = out.labels.reshape({g, n * n});
  out.valid = out.valid.reshape({g, n * n});
  return out;
}

double RocAuc(const at::Tensor& scores, const at::Tensor& labels) {
  const int64_t count = scores.numel();
  const int64_t positives = labels.sum().item<int64_t>();
  const int64_t negatives = count - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  // Mann-Whitney U with average ranks for ties.
  auto [sorted, order] = scores.to(at::kDouble).sort();
  at::Tensor ranks = at::empty({count}, at::kDouble);
  auto s = sorted.accessor<double, 1>();
  auto o = order.accessor<int64_t, 1>();
  auto r = ranks.accessor<double, 1>();
  for (int64_t i = 0; i < count;) {
    int64_t j = i;
    while (j + 1 < count && s[j + 1] == s[i]) ++j;
    const double average = (i + j) / 2.0 + 1.0;
    for (int64_t k = i; k <= j; ++k) r[o[k]] = average;
    i = j + 1;
  }
  const double positive_rank_sum = (ranks * labels.to(at::kDouble)).sum().item<double>();
  return (positive_rank_sum - positives * (positives + 1) / 2.0) /
         (static_cast<double>(positives) * negatives);
}

EdgeMetrics ComputeEdgeMetrics(const TaskPairs& p) {
  EdgeMetrics m;
  at::Tensor valid = p.valid;
  at::Tensor logits = p.logits.masked_select(valid).to(at::kDouble);
  at::Tensor labels = p.labels.masked_select(valid).to(at::kDouble);
  m.pairs = logits.numel();
  if (m.pairs == 0) return m;
  m.loss = at::binary_cross_entropy_with_logits(logits, labels).item<double>();
  at::Tensor predicted = (logits > 0).to(at::kDouble);
  const double tp = (predicted * labels).sum().item<double>();
  const double fp = (predicted * (1 - labels)).sum().item<double>();
  const double fn = ((1 - predicted) * labels).sum().item<double>();
  m.accuracy = (predicted == labels).to(at::kDouble).mean().item<double>();
  m.precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  m.recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.auc = RocAuc(logits, labels);
  // A graph is exact when every valid pair is right.
  at::Tensor wrong = ((p.logits > 0).to(at::kFloat) != p.labels).logical_and(valid);
  m.exact = (wrong.sum(1) == 0).to(at::kDouble).mean().item<double>();
  return m;
}

}  // namespace gp
