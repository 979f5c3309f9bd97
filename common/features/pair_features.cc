// Pair features as matrix products: rows preprocessed per mode, then
// (query pooling) x attention x (key pooling) gives mention-by-mention scores, aggregated to
// node pairs.
#include "common/features/pair_features.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {

at::Tensor PreprocessAttentionRows(at::Tensor rows, const FeatureOptions& o) {
  if (o.drop_sink) {
    rows = rows.clone();
    rows.select(-1, 0).zero_();
    // A row that only looked at the sink has nothing left: it stays zero, not NaN.
    rows = rows / rows.sum(-1, /*keepdim=*/true).clamp_min(1e-12);
  }
  switch (o.mode) {
    case FeatureMode::kRaw:
      return rows;
    case FeatureMode::kArgmax: {
      // A row with no attention left (everything went to a dropped sink) has no argmax: it
      // stays zero instead of pointing at key 0.
      at::Tensor out = at::zeros_like(rows);
      out.scatter_(-1, rows.argmax(-1, /*keepdim=*/true), 1.0);
      return out * (rows.sum(-1, /*keepdim=*/true) > 0).to(rows.scalar_type());
    }
    case FeatureMode::kTopK: {
      // Keys a row cannot see (future positions, a dropped sink) have weight 0: they never
      // count among the top K, even when the row sees fewer than K keys.
      const int64_t k = std::min<int64_t>(o.top_k, rows.size(-1));
      auto [values, indices] = rows.topk(k, -1);
      const at::Tensor kept = (values > 0).to(values.scalar_type());
      at::Tensor out = at::zeros_like(rows);
      return out.scatter_(-1, indices, o.top_k_ones ? kept : values * kept);
    }
  }
  return rows;
}

absl::StatusOr<at::Tensor> PairFeatures(
    const at::Tensor& attention_rows, const std::vector<int>& row_of_token,
    const std::vector<std::vector<std::vector<int>>>& node_mentions,
    const FeatureOptions& options) {
  if (attention_rows.dim() != 4)
    return absl::InvalidArgumentError("attention rows must be [L, H, R, T]");
  const int64_t layers = attention_rows.size(0), heads = attention_rows.size(1);
  const int64_t rows = attention_rows.size(2), length = attention_rows.size(3);
  const int64_t nodes = static_cast<int64_t>(node_mentions.size());
  // Pooling matrices over all mentions: queries averaged, keys summed.
  std::vector<int64_t> mention_node;
  for (int64_t i = 0; i < nodes; ++i) {
    if (node_mentions[i].empty())
      return absl::InvalidArgumentError(absl::StrCat("node ", i, " has no mention"));
    for (const auto& mention : node_mentions[i]) {
      if (mention.empty())
        return absl::InvalidArgumentError(absl::StrCat("a mention of node ", i, " has no tokens"));
      mention_node.push_back(i);
    }
  }
  const int64_t mentions = static_cast<int64_t>(mention_node.size());
  at::Tensor query_pool = at::zeros({mentions, rows});
  at::Tensor key_pool = at::zeros({mentions, length});
  auto q = query_pool.accessor<float, 2>();
  auto k = key_pool.accessor<float, 2>();
  int64_t m = 0;
  for (int64_t i = 0; i < nodes; ++i) {
    for (const auto& mention : node_mentions[i]) {
      for (int t : mention) {
        if (t < 0 || t >= length || t >= static_cast<int>(row_of_token.size()) ||
            row_of_token[t] < 0 || row_of_token[t] >= rows) {
          return absl::InvalidArgumentError(
              absl::StrCat("token ", t, " of node ", i, " has no captured attention row"));
        }
        q[m][row_of_token[t]] += 1.0f / static_cast<float>(mention.size());
        k[m][t] = 1.0f;
      }
      ++m;
    }
  }
  const at::Tensor a = PreprocessAttentionRows(attention_rows.to(at::kFloat).cpu(), options);
  // [L, H, mentions, mentions]: from mention a (rows) to mention b (columns).
  const at::Tensor scores = at::matmul(at::matmul(query_pool, a), key_pool.t());

  at::Tensor pair;  // [L, H, N, N]
  if (options.aggregation == MentionAggregation::kMean) {
    at::Tensor assign = at::zeros({nodes, mentions});
    for (int64_t j = 0; j < mentions; ++j) assign[mention_node[j]][j] = 1.0;
    assign = assign / assign.sum(1, true);
    pair = at::matmul(at::matmul(assign, scores), assign.t());
  } else {
    pair = at::empty({layers, heads, nodes, nodes});
    std::vector<at::Tensor> index(nodes);
    for (int64_t i = 0; i < nodes; ++i) {
      std::vector<int64_t> ids;
      for (int64_t j = 0; j < mentions; ++j) {
        if (mention_node[j] == i) ids.push_back(j);
      }
      index[i] = at::tensor(ids, at::kLong);
    }
    for (int64_t i = 0; i < nodes; ++i) {
      const at::Tensor from_i =
          std::get<0>(scores.index_select(2, index[i]).max(2));  // [L, H, mentions]
      for (int64_t j = 0; j < nodes; ++j) {
        pair.select(2, i).select(2, j).copy_(std::get<0>(from_i.index_select(2, index[j]).max(2)));
      }
    }
  }
  at::Tensor forward = pair.permute({2, 3, 0, 1});  // [N, N, L, H]
  if (!options.both_directions) return forward.reshape({nodes, nodes, layers * heads}).contiguous();
  at::Tensor backward = pair.transpose(2, 3).permute({2, 3, 0, 1});
  return at::stack({forward, backward}, -1)
      .reshape({nodes, nodes, layers * heads * 2})
      .contiguous();
}

at::Tensor AverageOverOrderings(const std::vector<at::Tensor>& features) {
  return at::stack(features).mean(0);
}

}  // namespace gp
