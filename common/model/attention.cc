// Grouped-query attention: q/k/v projections, rotary embedding, scores, optional
// soft-capping, masked float32 softmax, value mixing, output projection.
#include "common/model/attention.h"

#include <ATen/ATen.h>

#include <limits>

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

at::Tensor SelfAttention(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config,
                         const at::Tensor& cos, const at::Tensor& sin, const at::Tensor& bias,
                         AttentionCapture* capture) {
  const int64_t batch = x.size(0), length = x.size(1);
  const int64_t heads = config.num_heads, kv_heads = config.num_kv_heads, dim = config.head_dim;
  const int64_t group = config.heads_per_kv();

  at::Tensor q = Linear(x, w.q_proj, w.q_bias).view({batch, length, heads, dim}).transpose(1, 2);
  at::Tensor k = Linear(x, w.k_proj, w.k_bias).view({batch, length, kv_heads, dim}).transpose(1, 2);
  at::Tensor v = Linear(x, w.v_proj, w.v_bias).view({batch, length, kv_heads, dim}).transpose(1, 2);
  // Everything from here to the value mix runs in float32: the T x T work is a small share
  // of the FLOPs, and in bfloat16 mode it keeps the attention maps within 1e-2 of float32.
  q = ApplyRotary(q.to(at::kFloat), cos, sin);
  k = ApplyRotary(k.to(at::kFloat), cos, sin);

  // Query heads h*group .. h*group+group-1 share kv head h (transformers' repeat_kv): fold
  // them into the row dimension so one batched matmul serves the group without copying k/v.
  at::Tensor grouped_q = q.reshape({batch, kv_heads, group * length, dim});
  at::Tensor scores = at::matmul(grouped_q, k.transpose(2, 3)).view({batch, heads, length, length});
  scores = scores * config.attention_scale;
  if (config.attn_logit_softcap) {
    scores = at::tanh(scores / *config.attn_logit_softcap) * *config.attn_logit_softcap;
  }
  at::Tensor probabilities = at::softmax(scores + bias, -1);
  if (capture != nullptr) capture->Record(probabilities);

  at::Tensor grouped_p = probabilities.view({batch, kv_heads, group * length, length});
  at::Tensor mixed = at::matmul(grouped_p, v.to(at::kFloat)).view({batch, heads, length, dim});
  mixed = mixed.transpose(1, 2).reshape({batch, length, heads * dim}).to(x.scalar_type());
  return Linear(mixed, w.o_proj, w.o_bias);
}

}  // namespace gp
