// Adam written out on plain tensors (the update of torch.optim.Adam with L2 weight decay, or
// AdamW's decoupled decay), shared by probe training and language-model training: the C++
// optimizers are not part of the ATen API both libtorch builds share.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace gp {

struct AdamOptions {
  double learning_rate = 1e-3;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;  // AdamW: decay the weight, not the gradient
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class Adam {
 public:
  Adam(std::vector<at::Tensor> params, AdamOptions options);

  // One update from the parameters' accumulated gradients, which it then zeroes. Parameters
  // without a gradient are skipped.
  void Step();
  void set_learning_rate(double lr) { options_.learning_rate = lr; }

 private:
  std::vector<at::Tensor> params_, m_, v_;
  AdamOptions options_;
  int step_ = 0;
};

// Scales all gradients so that their joint L2 norm is at most `max_norm`; returns the norm
// before clipping.
double ClipGradientNorm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace gp
