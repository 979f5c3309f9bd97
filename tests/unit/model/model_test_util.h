// Shared helpers for the model tests: fixture paths and masked comparisons.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "tests/test_data.h"

namespace gp::testing {

inline std::string ReferenceModelDir(const std::string& name) {
  return std::string(GP_TEST_DATA) + "/hf-reference/models/" + name;
}

inline std::string RealConfigPath(const std::string& name) {
  return std::string(GP_TEST_DATA) + "/hf-reference/model-configs/" + name + ".json";
}

// Largest |a - b| over query rows < each sequence's length. `a`, `b`: [..., B, ..., T, X] with
// the batch at `batch_dim` and query rows at dim -2; mask: [B, T].
inline double MaxAbsDiffOnValidRows(const at::Tensor& a, const at::Tensor& b,
                                    const at::Tensor& mask, int64_t batch_dim) {
  at::Tensor diff = (a.to(at::kDouble) - b.to(at::kDouble)).abs();
  std::vector<int64_t> shape(diff.dim(), 1);
  shape[batch_dim] = mask.size(0);
  shape[diff.dim() - 2] = mask.size(1);
  at::Tensor rows = mask.to(at::kDouble).view(shape);
  return (diff * rows).max().item<double>();
}

// Mean |a - b| over the same rows; `a`, `b`: [layers, B, heads, T, X], mask: [B, T].
inline double MeanAbsDiffOnValidRows(const at::Tensor& a, const at::Tensor& b,
                                     const at::Tensor& mask) {
  at::Tensor rows = mask.to(at::kDouble).view({1, mask.size(0), 1, mask.size(1), 1});
  return ((a.to(at::kDouble) - b.to(at::kDouble)).abs() * rows).sum().item<double>() /
         (rows.sum().item<double>() * a.size(0) * a.size(2) * a.size(4));
}

}  // namespace gp::testing
