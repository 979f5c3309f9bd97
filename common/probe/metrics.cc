// Metrics over task pairs.
#include "common/probe/metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gp {

nlohmann::json EdgeMetrics::ToJson() const {
  return {{"loss", loss}, {"accuracy", accuracy}, {"precision", precision}, {"recall", recall},
          {"f1", f1},     {"auc", auc},           {"exact_graphs", exact},  {"pairs", pairs}};
}

EdgeMetrics EdgeMetrics::FromJson(const nlohmann::json& j) {
  EdgeMetrics m;
  m.loss = j.value("loss", 0.0);
  m.accuracy = j.value("accuracy", 0.0);
  m.precision = j.value("precision", 0.0);
  m.recall = j.value("recall", 0.0);
  m.f1 = j.value("f1", 0.0);
  m.auc = j.value("auc", 0.5);
  m.exact = j.value("exact_graphs", 0.0);
  m.pairs = j.value("pairs", int64_t{0});
  return m;
}

nlohmann::json MetricIntervals::ToJson() const {
  return {{"f1_low", f1_low},
          {"f1_high", f1_high},
          {"auc_low", auc_low},
          {"auc_high", auc_high},
          {"resamples", resamples}};
}

MetricIntervals MetricIntervals::FromJson(const nlohmann::json& j) {
  MetricIntervals m;
  m.f1_low = j.value("f1_low", 0.0);
  m.f1_high = j.value("f1_high", 0.0);
  m.auc_low = j.value("auc_low", 0.0);
  m.auc_high = j.value("auc_high", 0.0);
  m.resamples = j.value("resamples", 0);
  return m;
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

namespace {

struct ScoredPair {
  double score;
  bool positive;
};

// Mann-Whitney AUC with average ranks for ties; sorts `pairs`.
double SortedAuc(std::vector<ScoredPair>* pairs) {
  std::sort(pairs->begin(), pairs->end(),
            [](const ScoredPair& a, const ScoredPair& b) { return a.score < b.score; });
  double positive_rank_sum = 0, positives = 0;
  const size_t count = pairs->size();
  for (size_t i = 0; i < count;) {
    size_t j = i;
    while (j + 1 < count && (*pairs)[j + 1].score == (*pairs)[i].score) ++j;
    const double average = (i + j) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) {
      if ((*pairs)[k].positive) positive_rank_sum += average, ++positives;
    }
    i = j + 1;
  }
  const double negatives = static_cast<double>(count) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

// The valid pairs of each graph (row), as scores and labels.
std::vector<std::vector<ScoredPair>> PairsPerGraph(const TaskPairs& p) {
  const at::Tensor logits = p.logits.to(at::kDouble).contiguous();
  const at::Tensor labels = p.labels.to(at::kDouble).contiguous();
  const at::Tensor valid = p.valid.to(at::kBool).contiguous();
  auto l = logits.accessor<double, 2>();
  auto y = labels.accessor<double, 2>();
  auto v = valid.accessor<bool, 2>();
  std::vector<std::vector<ScoredPair>> out(logits.size(0));
  for (int64_t g = 0; g < logits.size(0); ++g) {
    for (int64_t m = 0; m < logits.size(1); ++m) {
      if (v[g][m]) out[g].push_back({l[g][m], y[g][m] > 0.5});
    }
  }
  return out;
}

double F1At(const std::vector<ScoredPair>& pairs, double threshold) {
  double tp = 0, fp = 0, fn = 0;
  for (const ScoredPair& s : pairs) {
    const bool predicted = s.score > threshold;
    tp += predicted && s.positive;
    fp += predicted && !s.positive;
    fn += !predicted && s.positive;
  }
  return tp > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
}

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * (values.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - below) * (values[above] - values[below]);
}

}  // namespace

F1Threshold BestF1Threshold(const TaskPairs& pairs) {
  std::vector<ScoredPair> all;
  for (auto& graph : PairsPerGraph(pairs)) all.insert(all.end(), graph.begin(), graph.end());
  F1Threshold best;
  if (all.empty()) return best;
  // Descending scores: predicting the first i pairs positive, at every boundary between
  // distinct scores.
  std::sort(all.begin(), all.end(),
            [](const ScoredPair& a, const ScoredPair& b) { return a.score > b.score; });
  double positives = 0;
  for (const ScoredPair& s : all) positives += s.positive;
  double tp = 0, predicted = 0;
  best.logit = all.front().score + 1;  // nothing predicted positive
  for (size_t i = 0; i < all.size(); ++i) {
    tp += all[i].positive;
    ++predicted;
    if (i + 1 < all.size() && all[i + 1].score == all[i].score) continue;
    const double f1 = 2 * tp / (predicted + positives);
    if (f1 > best.f1) {
      best.f1 = f1;
      best.logit = i + 1 < all.size() ? (all[i].score + all[i + 1].score) / 2 : all[i].score - 1;
    }
  }
  return best;
}

MetricIntervals BootstrapOverGraphs(const TaskPairs& pairs, int resamples, uint64_t seed) {
  MetricIntervals out;
  const std::vector<std::vector<ScoredPair>> graphs = PairsPerGraph(pairs);
  if (graphs.empty() || resamples < 1) return out;
  std::mt19937_64 random(seed);  // its output sequence is fixed by the standard
  std::vector<double> f1s, aucs;
  std::vector<ScoredPair> sample;
  for (int r = 0; r < resamples; ++r) {
    sample.clear();
    for (size_t i = 0; i < graphs.size(); ++i) {
      const auto& graph = graphs[random() % graphs.size()];
      sample.insert(sample.end(), graph.begin(), graph.end());
    }
    f1s.push_back(F1At(sample, 0.0));
    aucs.push_back(SortedAuc(&sample));
  }
  out.f1_low = Percentile(f1s, 0.025);
  out.f1_high = Percentile(f1s, 0.975);
  out.auc_low = Percentile(aucs, 0.025);
  out.auc_high = Percentile(aucs, 0.975);
  out.resamples = resamples;
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
