// Many small logistic regressions fitted together to convergence: the per-head and per-layer
// probes. Newton's method with a little L2 (separable data would otherwise push the weights to
// infinity) and step halving, so the fit does not depend on an initialization, a learning rate
// or an epoch count, and every probe learns its own sign from the training data.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace gp {

struct LogisticFit {
  at::Tensor weight;  // double [K, D]
  at::Tensor bias;    // double [K]
  int iterations = 0;
  bool converged = false;
  std::vector<double> loss_history;  // mean objective over the K probes, per iteration
};

// x: [K, P, D] one design per probe over the same P samples; labels [P] (0/1); sample_weight
// [P] (> 0, e.g. positive-class weighting). Minimizes, per probe, the weighted mean binary
// cross-entropy plus l2 / 2 * |w|^2 (the bias is not penalized).
LogisticFit FitLogisticGroups(const at::Tensor& x, const at::Tensor& labels,
                              const at::Tensor& sample_weight, double l2 = 1e-3,
                              int max_iterations = 50, double tolerance = 1e-8);

// Logits [K, P] of fitted probes on designs [K, P, D].
at::Tensor LogisticLogits(const LogisticFit& fit, const at::Tensor& x);

}  // namespace gp
