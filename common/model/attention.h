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

// One layer's masking: the additive bias, and whether it is the plain causal mask (no padded
// keys, no sliding window inside the sequence), which fused kernels take as is_causal.
struct AttentionMasking {
  at::Tensor bias;  // float32, for explicit probabilities and captured rows
  bool causal_only = false;
  // The fused kernel's mask: `bias` in the compute dtype, clamped so bfloat16 keeps it finite.
  // Undefined for the explicit pass and for a plain causal mask (the kernel's is_causal).
  at::Tensor fused_bias;
  // The fused pass's captured query rows of `bias`: [B, 1, K, T].
  at::Tensor bias_rows;
};

// Builds a forward pass's masking once, so no layer clamps, casts or gathers the bias again:
// with `capture_positions` (I64 [B, K]; undefined: none) of a fused pass, their rows too.
AttentionMasking MakeAttentionMasking(at::Tensor bias, bool causal_only, bool fused,
                                      at::ScalarType compute_dtype,
                                      const at::Tensor& capture_positions);

// x [B, T, hidden] (already normed) -> attention output [B, T, hidden] before o_proj's
// residual add. Two ways to compute it:
// - explicit (`fused` false): every head's float32 probabilities [B, H, T, T], then the value
//   mix in float32 (soft-capping, gradients and full capture need this one);
// - fused: the value mix through scaled_dot_product_attention in the model's dtype (flash or
//   memory-efficient kernels on a GPU, softmax in float32 inside them), and float32
//   probabilities computed only for the query rows `capture` keeps. Only without soft-capping
//   and without a full-map capture (UseFusedAttention checks).
at::Tensor SelfAttention(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                         const at::Tensor& cos, const at::Tensor& sin,
                         const AttentionMasking& masking, AttentionCapture* capture, bool fused);

// What SelfAttention would hand `capture`, without the layer's output (no v projection, value
// mix or output projection): for the last layer of a pass that returns only attention.
void CaptureAttentionOnly(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                          const at::Tensor& cos, const at::Tensor& sin,
                          const AttentionMasking& masking, AttentionCapture& capture, bool fused);

// Whether the fused computation can serve this model and capture.
bool FusedAttentionApplies(const ModelConfig& config, const AttentionCapture* capture);

}  // namespace gp
