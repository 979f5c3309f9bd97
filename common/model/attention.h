// Grouped-query self-attention of one decoder layer, with the post-softmax probabilities of
// every query head handed to an AttentionCapture.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "common/model/attention_capture.h"
#include "common/model/config.h"
#include "common/model/weights.h"

namespace gp {

// Additive float32 mask [B, 1, T, T]: 0 where query t may see key s (s <= t, s inside the
// sequence, and t - s < window when `sliding_window` is set), the lowest float elsewhere, as
// transformers' eager attention does (a fully masked row becomes uniform, never NaN).
at::Tensor AttentionBias(const at::Tensor& attention_mask, std::optional<int64_t> sliding_window);

// x [B, T, hidden] (already normed) -> attention output [B, T, hidden] before o_proj's
// residual add. Softmax and soft-capping run in float32 whatever the model dtype.
at::Tensor SelfAttention(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                         const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& bias,
                         AttentionCapture* capture);

}  // namespace gp
