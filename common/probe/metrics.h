// Edge-prediction metrics on off-diagonal pairs of real nodes: task `undirected` (unordered
// pairs i < j, label 1 if an edge goes either way, score the mean of both directions'
// logits) or `directed` (ordered pairs). Loss, accuracy, precision, recall, F1, ROC-AUC and
// the share of graphs predicted exactly.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "absl/status/statusor.h"
#include "common/probe/train_options.h"
#include "nlohmann/json.hpp"

namespace gp {

struct EdgeMetrics {
  double loss = 0, accuracy = 0, precision = 0, recall = 0, f1 = 0, auc = 0.5, exact = 0;
  int64_t pairs = 0;
  nlohmann::json ToJson() const;
  // The inverse of ToJson (missing fields keep their defaults).
  static EdgeMetrics FromJson(const nlohmann::json& json);
};

// Pairs scored by a task: pair logits [G, M] and labels [G, M] (float 0/1) with a validity
// mask [G, M] (M = N * N), from logits [G, N, N] and adjacency [G, N, N].
struct TaskPairs {
  at::Tensor logits, labels, valid;
};
TaskPairs PairsForTask(const at::Tensor& logits, const at::Tensor& adjacency,
                       const at::Tensor& node_mask, ProbeTask task);

// Threshold 0 on logits (probability 0.5).
EdgeMetrics ComputeEdgeMetrics(const TaskPairs& pairs);

// The decision threshold (a logit) that maximizes F1 on these pairs, midway between two
// neighbouring scores, and that F1. Chosen on validation pairs, applied to test pairs.
struct F1Threshold {
  double logit = 0;
  double f1 = 0;
};
F1Threshold BestF1Threshold(const TaskPairs& pairs);

// 95% percentile-bootstrap intervals of F1 (threshold 0) and ROC-AUC, resampling whole graphs
// (the rows of `pairs`) with replacement: pairs of one graph are not independent.
struct MetricIntervals {
  double f1_low = 0, f1_high = 0, auc_low = 0, auc_high = 0;
  int resamples = 0;
  nlohmann::json ToJson() const;
  static MetricIntervals FromJson(const nlohmann::json& json);
};
MetricIntervals BootstrapOverGraphs(const TaskPairs& pairs, int resamples, uint64_t seed);

// Rank-based ROC-AUC (ties averaged); 0.5 when one class is absent.
double RocAuc(const at::Tensor& scores, const at::Tensor& labels);

}  // namespace gp
