// Fast deterministic random fill for random-weight models of real sizes (billions of values):
// a counter-based generator over fixed-size chunks, filled in parallel, so the values depend
// only on the seed and the tensor, never on the thread count.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace gp {

// Fills a contiguous CPU float32 or bfloat16 tensor with values uniform in [-bound, bound).
void FillUniform(at::Tensor& tensor, double bound, uint64_t seed);

}  // namespace gp
