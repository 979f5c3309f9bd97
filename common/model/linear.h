// y = x W^T + b for the decoder's projections, with bfloat16 weights computed in float32 on
// CPUs without bfloat16 matrix instructions (libtorch's fallback kernel there is ~50x slower
// than float32; the result is the same up to summation order), and the dtype casts around
// them.
#pragma once

#include <ATen/core/Tensor.h>

namespace gp {

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// True where libtorch's CPU bfloat16 matmul runs on hardware (AVX512-BF16 or AMX).
bool CpuHasFastBfloat16Matmul();

// `x` in `dtype`, with no op dispatched when it already is: on a GPU every op costs the host
// time, and the casts around the matmuls are no-ops in float32 mode.
inline at::Tensor CastTo(const at::Tensor& x, at::ScalarType dtype) {
  return x.scalar_type() == dtype ? x : x.to(dtype);
}

}  // namespace gp
