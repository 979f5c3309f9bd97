// Rotary position embeddings exactly as transformers computes them (inverse frequencies in
// float32, llama3 / linear scaling, cos/sin cast to the model dtype, rotate_half).
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "common/model/config.h"

namespace gp {

// float32 [head_dim / 2] on `device`.
at::Tensor InverseFrequencies(const RopeParameters& rope, int64_t head_dim, at::Device device);

// cos and sin for positions 0..T-1: [T, head_dim] in `dtype`, sin with its first half negated
// (what ApplyRotary takes).
std::pair<at::Tensor, at::Tensor> RotaryCosSin(const at::Tensor& inverse_frequencies,
                                               int64_t length, at::ScalarType dtype);

// x * cos + rotate_half(x) * sin for x [B, heads, T, head_dim], with `signed_sin` from
// RotaryCosSin: rotate_half(x) = cat(-x2, x1) is cat(x2, x1) (one roll) times the signs, which
// the sine carries. Bit for bit transformers' result (a sign flip is exact), one op fewer.
at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& signed_sin);

}  // namespace gp
