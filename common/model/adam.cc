// Adam and gradient clipping on plain tensors.
#include "common/model/adam.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <utility>

namespace gp {

Adam::Adam(std::vector<at::Tensor> params, AdamOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p).detach());
    v_.push_back(at::zeros_like(p).detach());
  }
}

void Adam::Step() {
  at::NoGradGuard no_grad;
  ++step_;
  const AdamOptions& o = options_;
  const double c1 = 1 - std::pow(o.beta1, step_), c2 = 1 - std::pow(o.beta2, step_);
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = p.grad();
    if (o.weight_decay > 0 && !o.decoupled_weight_decay) g = g + o.weight_decay * p;
    if (o.weight_decay > 0 && o.decoupled_weight_decay)
      p.mul_(1 - o.learning_rate * o.weight_decay);
    m_[i].mul_(o.beta1).add_(g, 1 - o.beta1);
    v_[i].mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
    p.sub_(o.learning_rate * (m_[i] / c1) / ((v_[i] / c2).sqrt() + o.eps));
    p.mutable_grad().zero_();
  }
}

double ClipGradientNorm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  // One sum on the gradients' device and one read of it: on a GPU each read is a sync.
  std::vector<at::Tensor> squares;
  for (const auto& p : params) {
    if (p.grad().defined()) squares.push_back(p.grad().pow(2).sum().to(at::kDouble));
  }
  if (squares.empty()) return 0;
  const double norm = std::sqrt(at::stack(squares).sum().item<double>());
  if (norm > max_norm && norm > 0) {
    for (const auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().mul_(max_norm / norm);
    }
  }
  return norm;
}

}  // namespace gp
