// Batched Newton iterations for logistic regression.
#include "common/probe/logistic.h"

#include <ATen/ATen.h>

namespace gp {
namespace {

// Per-probe objective [K] at parameters beta [K, D+1] on the augmented design [K, P, D+1].
at::Tensor Objective(const at::Tensor& design, const at::Tensor& beta, const at::Tensor& labels,
                     const at::Tensor& weight, double l2) {
  const at::Tensor z = at::matmul(design, beta.unsqueeze(2)).squeeze(2);  // [K, P]
  // log(1 + e^z) - y z, computed stably.
  const at::Tensor loss = at::softplus(z) - z * labels;
  const at::Tensor w = beta.narrow(1, 0, beta.size(1) - 1);
  return (loss * weight).mean(1) + 0.5 * l2 * (w * w).sum(1);
}

}  // namespace

LogisticFit FitLogisticGroups(const at::Tensor& x, const at::Tensor& labels,
                              const at::Tensor& sample_weight, double l2, int max_iterations,
                              double tolerance) {
  const int64_t k = x.size(0), p = x.size(1), d = x.size(2);
  const at::Tensor design = at::cat({x.to(at::kDouble), at::ones({k, p, 1}, at::kDouble)}, 2);
  const at::Tensor y = labels.to(at::kDouble).unsqueeze(0);
  at::Tensor weight = sample_weight.to(at::kDouble);
  weight = (weight / weight.mean()).unsqueeze(0);  // mean 1: l2 keeps its meaning
  // The penalty's Hessian: l2 on the weights, a tiny ridge on the bias for a solvable system
  // when a probe's feature is constant.
  at::Tensor penalty = at::full({d + 1}, l2, at::kDouble);
  penalty[d] = 1e-10;
  penalty = at::diag(penalty).unsqueeze(0);
  at::Tensor mask_bias = at::ones({d + 1}, at::kDouble);
  mask_bias[d] = 0;

  LogisticFit fit;
  at::Tensor beta = at::zeros({k, d + 1}, at::kDouble);
  at::Tensor objective = Objective(design, beta, y, weight, l2);
  for (int it = 0; it < max_iterations; ++it) {
    const at::Tensor z = at::matmul(design, beta.unsqueeze(2)).squeeze(2);
    const at::Tensor prob = at::sigmoid(z);
    const at::Tensor residual = (prob - y) * weight / static_cast<double>(p);          // [K, P]
    const at::Tensor curvature = prob * (1 - prob) * weight / static_cast<double>(p);  // [K, P]
    const at::Tensor gradient =
        at::matmul(design.transpose(1, 2), residual.unsqueeze(2)).squeeze(2) +
        l2 * beta * mask_bias;
    const at::Tensor hessian =
        at::matmul(design.transpose(1, 2), design * curvature.unsqueeze(2)) + penalty;
    const at::Tensor step = at::linalg_solve(hessian, gradient.unsqueeze(2)).squeeze(2);
    // Step halving per probe: keep the largest step (1, 1/2, ...) that does not increase the
    // objective; a probe at its optimum takes no step.
    at::Tensor scale = at::ones({k, 1}, at::kDouble);
    at::Tensor accepted = at::zeros({k}, at::kBool);
    at::Tensor next_objective = objective.clone();
    for (int halving = 0; halving < 30; ++halving) {
      const at::Tensor candidate = Objective(design, beta - scale * step, y, weight, l2);
      const at::Tensor better = candidate.le(objective).logical_and(accepted.logical_not());
      next_objective = at::where(better, candidate, next_objective);
      beta = at::where(better.unsqueeze(1), beta - scale * step, beta);
      accepted = accepted.logical_or(better);
      if (accepted.all().item<bool>()) break;
      scale = at::where(accepted.unsqueeze(1), scale, scale / 2);
    }
    objective = next_objective;
    fit.iterations = it + 1;
    fit.loss_history.push_back(objective.mean().item<double>());
    if ((step * scale).abs().max().item<double>() < tolerance ||
        gradient.abs().max().item<double>() < tolerance) {
      fit.converged = true;
      break;
    }
  }
  fit.weight = beta.narrow(1, 0, d).contiguous();
  fit.bias = beta.select(1, d).contiguous();
  return fit;
}

at::Tensor LogisticLogits(const LogisticFit& fit, const at::Tensor& x) {
  return at::matmul(x.to(at::kDouble), fit.weight.unsqueeze(2)).squeeze(2) + fit.bias.unsqueeze(1);
}

}  // namespace gp
