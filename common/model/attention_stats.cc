// Attention map summaries over the valid query rows of every sequence.
#include "common/model/attention_stats.h"

#include <ATen/ATen.h>

namespace gp {

std::vector<HeadStatistics> SummarizeAttention(const at::Tensor& attentions,
                                               const at::Tensor& attention_mask) {
  const at::Tensor a = attentions.to(at::kCPU, at::kDouble);  // [L, B, H, T, T]
  const int64_t layers = a.size(0), heads = a.size(2), length = a.size(3);
  // Valid query rows, broadcast over layers and heads: [1, B, 1, T].
  const at::Tensor rows = attention_mask.to(at::kCPU, at::kDouble).view({1, a.size(1), 1, length});
  const double row_count = rows.sum().item<double>();

  at::Tensor positions = at::arange(length, a.options());
  at::Tensor distance = (positions.view({length, 1}) - positions.view({1, length})).clamp_min(0);

  auto mean_over_rows = [&](const at::Tensor& per_row) {  // [L, B, H, T] -> [L, H]
    return (per_row * rows).sum({1, 3}) / row_count;
  };
  at::Tensor mean_max = mean_over_rows(std::get<0>(a.max(-1)));
  at::Tensor entropy = mean_over_rows(-(a * at::log(a.clamp_min(1e-30))).sum(-1));
  at::Tensor first = mean_over_rows(a.select(-1, 0));
  at::Tensor dist = mean_over_rows((a * distance).sum(-1));

  std::vector<HeadStatistics> out;
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t h = 0; h < heads; ++h) {
      out.push_back({l, h, mean_max[l][h].item<double>(), entropy[l][h].item<double>(),
                     first[l][h].item<double>(), dist[l][h].item<double>()});
    }
  }
  return out;
}

}  // namespace gp
