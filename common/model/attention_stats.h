// Per-layer, per-head summaries of attention maps: how peaked, how spread, how much goes to
// the first token (the usual attention sink), and how far back heads look.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace gp {

struct HeadStatistics {
  int64_t layer, head;
  double mean_max;       // mean over query rows of the largest probability
  double entropy;        // mean row entropy, nats
  double first_token;    // mean probability on key position 0
  double mean_distance;  // mean over rows of sum_k p(q, k) * (q - k), in tokens
};

// attentions: float [layers, B, heads, T, T]; attention_mask: [B, T] (rows past each
// sequence's length are left out). Returned in (layer, head) order.
std::vector<HeadStatistics> SummarizeAttention(const at::Tensor& attentions,
                                               const at::Tensor& attention_mask);

}  // namespace gp
