// Projections, upcasting bfloat16 weights where the CPU has no bfloat16 matmul.
#include "common/model/linear.h"

#include <ATen/ATen.h>

namespace gp {

bool CpuHasFastBfloat16Matmul() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool fast =
      __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
  return fast;
#else
  return true;  // other architectures: trust libtorch's kernel
#endif
}

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (weight.scalar_type() == at::kBFloat16 && weight.device().is_cpu() &&
      !CpuHasFastBfloat16Matmul()) {
    at::Tensor y = bias.defined()
                       ? at::linear(x.to(at::kFloat), weight.to(at::kFloat), bias.to(at::kFloat))
                       : at::linear(x.to(at::kFloat), weight.to(at::kFloat));
    return y.to(at::kBFloat16);
  }
  return bias.defined() ? at::linear(x, weight, bias) : at::linear(x, weight);
}

}  // namespace gp
