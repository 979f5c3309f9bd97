// Grouped-query attention: q/k/v projections, rotary embedding, scores, optional
// soft-capping, masked float32 softmax, value mixing, output projection; or the value mix
// through the library's fused kernel with probabilities for the captured rows only.
#include "common/model/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "common/model/linear.h"
#include "common/model/rope.h"

namespace gp {

at::Tensor AttentionBias(const at::Tensor& attention_mask, std::optional<int64_t> sliding_window) {
  const int64_t length = attention_mask.size(1);
  auto options = attention_mask.options();
  at::Tensor query = at::arange(length, options.dtype(at::kLong)).view({length, 1});
  at::Tensor key = at::arange(length, options.dtype(at::kLong)).view({1, length});
  at::Tensor allowed = key <= query;  // causal
  if (sliding_window) allowed = allowed.logical_and(query - key < *sliding_window);
  at::Tensor key_present =
      attention_mask.to(at::kBool).view({attention_mask.size(0), 1, 1, length});
  allowed = allowed.view({1, 1, length, length}).logical_and(key_present);
  at::Tensor bias = at::zeros(allowed.sizes(), options.dtype(at::kFloat));
  return bias.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
}

namespace {

// Scores of query rows q [B, H, R, d] over keys k [B, KV, T, d] (float32), scaled and
// soft-capped. Query heads h*group .. h*group+group-1 share kv head h (transformers'
// repeat_kv): folding them into the row dimension lets one batched matmul serve the group
// without copying k.
at::Tensor Scores(const at::Tensor& q, const at::Tensor& k, const ModelConfig& config) {
  const int64_t batch = q.size(0), heads = q.size(1), rows = q.size(2), dim = q.size(3);
  const int64_t kv_heads = k.size(1), length = k.size(2);
  at::Tensor grouped_q = q.reshape({batch, kv_heads, (heads / kv_heads) * rows, dim});
  at::Tensor scores = at::matmul(grouped_q, k.transpose(2, 3)).view({batch, heads, rows, length});
  scores = scores * config.attention_scale;
  if (config.attn_logit_softcap) {
    scores = at::tanh(scores / *config.attn_logit_softcap) * *config.attn_logit_softcap;
  }
  return scores;
}

// Rows `positions` (I64 [B, K]) of x [B or 1, H, T, D]: [B, H, K, D].
at::Tensor GatherRows(const at::Tensor& x, const at::Tensor& positions) {
  const int64_t batch = positions.size(0), rows = positions.size(1);
  return x.expand({batch, x.size(1), x.size(2), x.size(3)})
      .gather(2, positions.view({batch, 1, rows, 1}).expand({batch, x.size(1), rows, x.size(3)}));
}

// Masked scores of the query rows at `positions` (I64 [B, K]) only, before the softmax:
// [B, H, K, T] (float32, as q and k are); `bias_rows` [B, 1, K, T] are the mask's same rows.
at::Tensor ScoresAtRows(const at::Tensor& q, const at::Tensor& k, const at::Tensor& bias_rows,
                        const at::Tensor& positions, const ModelConfig& config) {
  return Scores(GatherRows(q, positions), k, config) + bias_rows;
}

// k or v [B, KV, T, d] with each kv head repeated for the `group` query heads it serves:
// [B, KV * group, T, d] (transformers' repeat_kv).
at::Tensor RepeatKvHeads(const at::Tensor& t, int64_t group) {
  if (group == 1) return t;
  const int64_t batch = t.size(0), kv_heads = t.size(1), length = t.size(2), dim = t.size(3);
  return t.unsqueeze(2)
      .expand({batch, kv_heads, group, length, dim})
      .reshape({batch, kv_heads * group, length, dim});
}

// softmax(q k^T * scale + mask) v through the library's fused kernel, in q's dtype.
at::Tensor FusedValueMix(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const AttentionMasking& masking, const ModelConfig& config) {
  const int64_t group = q.size(1) / k.size(1);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  if (masking.causal_only) {
    return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, 0.0, /*is_causal=*/true,
                                            config.attention_scale, /*enable_gqa=*/true);
  }
  // With a mask, grouped k/v would fall back to the math kernel: flash attention takes no mask
  // and the memory-efficient kernel no grouped heads. Repeated per query head (as transformers'
  // SDPA path does) they keep the memory-efficient kernel, for the price of copying k and v.
  return at::scaled_dot_product_attention(q, RepeatKvHeads(k, group), RepeatKvHeads(v, group),
                                          masking.fused_bias, 0.0, /*is_causal=*/false,
                                          config.attention_scale);
#else
  // Before 2.5: no grouped-query support (k/v repeated per query head) and a fixed scale of
  // 1/sqrt(d) (folded into q).
  const c10::optional<at::Tensor> mask = masking.causal_only
                                             ? c10::optional<at::Tensor>()
                                             : c10::optional<at::Tensor>(masking.fused_bias);
  const double fold = config.attention_scale * std::sqrt(static_cast<double>(k.size(3)));
  return std::get<0>(at::_scaled_dot_product_attention(
      q * fold, RepeatKvHeads(k, group), RepeatKvHeads(v, group), mask, 0.0,
      /*need_attn_weights=*/false, masking.causal_only));
#endif
}

// q [B, H, T, d] and k [B, KV, T, d] of the normed x, rotated. Rotary embedding and every
// probability we hand out run in float32: in bfloat16 mode it keeps the attention maps within
// 1e-2 of float32.
std::pair<at::Tensor, at::Tensor> RotatedQueryKey(const at::Tensor& x, const LayerWeights& w,
                                                  const ModelConfig& config, const at::Tensor& cos,
                                                  const at::Tensor& sin) {
  const int64_t batch = x.size(0), length = x.size(1), dim = config.head_dim;
  at::Tensor q = Linear(x, w.q_proj, w.q_bias).view({batch, length, config.num_heads, dim});
  at::Tensor k = Linear(x, w.k_proj, w.k_bias).view({batch, length, config.num_kv_heads, dim});
  return {ApplyRotary(CastTo(q.transpose(1, 2), at::kFloat), cos, sin),
          ApplyRotary(CastTo(k.transpose(1, 2), at::kFloat), cos, sin)};
}

// The explicit pass's probabilities [B, H, T, T]: the T x T work is a small share of the
// FLOPs, so it stays in float32.
at::Tensor Probabilities(const at::Tensor& q, const at::Tensor& k, const AttentionMasking& masking,
                         const ModelConfig& config) {
  return at::softmax(Scores(q, k, config) + masking.bias, -1);
}

}  // namespace

AttentionMasking MakeAttentionMasking(at::Tensor bias, bool causal_only, bool fused,
                                      at::ScalarType compute_dtype,
                                      const at::Tensor& capture_positions) {
  AttentionMasking masking{std::move(bias), causal_only, {}, {}};
  // The bias's lowest float would round to -inf in bfloat16, and a row with every key masked
  // (a padded query inside a sliding window) would then turn NaN and reach the valid rows
  // through the next layer's value mix; -1e30 keeps such a row uniform, as the explicit pass.
  if (fused && !causal_only) masking.fused_bias = masking.bias.clamp_min(-1e30).to(compute_dtype);
  if (fused && capture_positions.defined()) {
    masking.bias_rows = GatherRows(masking.bias, capture_positions);
  }
  return masking;
}

bool FusedAttentionApplies(const ModelConfig& config, const AttentionCapture* capture) {
  return !config.attn_logit_softcap && (capture == nullptr || !capture->keeps_full_maps());
}

void CaptureAttentionOnly(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                          const at::Tensor& cos, const at::Tensor& sin,
                          const AttentionMasking& masking, AttentionCapture& capture, bool fused) {
  const auto [q, k] = RotatedQueryKey(x, w, config, cos, sin);
  if (fused) {
    capture.RecordRowScores(ScoresAtRows(q, k, masking.bias_rows, capture.positions(), config));
  } else {
    capture.Record(Probabilities(q, k, masking, config));
  }
}

at::Tensor SelfAttention(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                         const at::Tensor& cos, const at::Tensor& sin,
                         const AttentionMasking& masking, AttentionCapture* capture, bool fused) {
  const int64_t batch = x.size(0), length = x.size(1);
  const int64_t heads = config.num_heads, kv_heads = config.num_kv_heads, dim = config.head_dim;

  const auto [q, k] = RotatedQueryKey(x, w, config, cos, sin);
  at::Tensor v = Linear(x, w.v_proj, w.v_bias).view({batch, length, kv_heads, dim}).transpose(1, 2);

  at::Tensor mixed;
  if (fused) {
    if (capture != nullptr) {
      capture->RecordRowScores(ScoresAtRows(q, k, masking.bias_rows, capture->positions(), config));
    }
    const at::ScalarType dtype = x.scalar_type();
    mixed = FusedValueMix(CastTo(q, dtype), CastTo(k, dtype), v, masking, config);
  } else {
    at::Tensor probabilities = Probabilities(q, k, masking, config);
    if (capture != nullptr) capture->Record(probabilities);
    at::Tensor grouped_p =
        probabilities.view({batch, kv_heads, config.heads_per_kv() * length, length});
    mixed = at::matmul(grouped_p, CastTo(v, at::kFloat)).view({batch, heads, length, dim});
  }
  // The explicit pass mixed in float32; the fused kernel's output has the model's dtype.
  mixed = CastTo(mixed.transpose(1, 2).reshape({batch, length, heads * dim}), x.scalar_type());
  return Linear(mixed, w.o_proj, w.o_bias);
}

}  // namespace gp
