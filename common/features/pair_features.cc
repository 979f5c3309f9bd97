// Pair features as batched matrix products on the rows' device: rows preprocessed per mode,
// then (query pooling) x attention x (key pooling) gives mention-by-mention scores, aggregated
// to node pairs. Only the small pooling matrices are built on the host.
#include "common/features/pair_features.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

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

namespace {

// One prompt's pooling, checked: per mention, the captured rows its query side averages and
// the keys its key side sums, and the node that owns it.
struct MentionPooling {
  std::vector<std::vector<int>> rows, keys;
  std::vector<int64_t> node;
};

absl::StatusOr<MentionPooling> PoolingOf(const std::vector<int>& row_of_token,
                                         const std::vector<std::vector<std::vector<int>>>& mentions,
                                         int64_t captured_rows, int64_t length) {
  MentionPooling pooling;
  for (size_t i = 0; i < mentions.size(); ++i) {
    if (mentions[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("node ", i, " has no mention"));
    }
    for (const auto& mention : mentions[i]) {
      if (mention.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("a mention of node ", i, " has no tokens"));
      }
      std::vector<int> rows;
      for (int t : mention) {
        if (t < 0 || t >= length || t >= static_cast<int>(row_of_token.size()) ||
            row_of_token[t] < 0 || row_of_token[t] >= captured_rows) {
          return absl::InvalidArgumentError(
              absl::StrCat("token ", t, " of node ", i, " has no captured attention row"));
        }
        rows.push_back(row_of_token[t]);
      }
      pooling.rows.push_back(std::move(rows));
      pooling.keys.push_back(mention);
      pooling.node.push_back(static_cast<int64_t>(i));
    }
  }
  return pooling;
}

}  // namespace

absl::StatusOr<at::Tensor> BatchPairFeatures(
    const at::Tensor& attention_rows, const std::vector<std::vector<int>>& row_of_token,
    const std::vector<std::vector<std::vector<std::vector<int>>>>& node_mentions,
    const FeatureOptions& options) {
  if (attention_rows.dim() != 5) {
    return absl::InvalidArgumentError("attention rows must be [L, B, H, R, T]");
  }
  const int64_t layers = attention_rows.size(0), batch = attention_rows.size(1);
  const int64_t heads = attention_rows.size(2), rows = attention_rows.size(3);
  const int64_t length = attention_rows.size(4);
  if (static_cast<int64_t>(row_of_token.size()) != batch ||
      static_cast<int64_t>(node_mentions.size()) != batch) {
    return absl::InvalidArgumentError(absl::StrCat("a batch of ", batch, " prompts with ",
                                                   row_of_token.size(), " row maps and ",
                                                   node_mentions.size(), " mention lists"));
  }
  std::vector<MentionPooling> pooling;
  int64_t nodes = 0, mentions = 0, mentions_per_node = 1;
  for (int64_t b = 0; b < batch; ++b) {
    GP_ASSIGN_OR_RETURN(MentionPooling p,
                        PoolingOf(row_of_token[b], node_mentions[b], rows, length));
    nodes = std::max<int64_t>(nodes, static_cast<int64_t>(node_mentions[b].size()));
    mentions = std::max<int64_t>(mentions, static_cast<int64_t>(p.node.size()));
    for (const auto& node : node_mentions[b]) {
      mentions_per_node = std::max<int64_t>(mentions_per_node, static_cast<int64_t>(node.size()));
    }
    pooling.push_back(std::move(p));
  }

  // Pooling matrices, built on the host (small) and moved once: queries averaged over a
  // mention's tokens, keys summed, mentions averaged per node (mean aggregation) or listed
  // per node (max aggregation). Padded prompts, mentions and nodes have all-zero entries.
  at::Tensor query_pool = at::zeros({batch, mentions, rows});
  at::Tensor key_pool = at::zeros({batch, mentions, length});
  at::Tensor assign = at::zeros({batch, nodes, mentions});
  at::Tensor node_mention = at::zeros({batch, nodes, mentions_per_node}, at::kLong);
  at::Tensor node_mention_valid = at::zeros({batch, nodes, mentions_per_node}, at::kBool);
  auto q = query_pool.accessor<float, 3>();
  auto k = key_pool.accessor<float, 3>();
  auto a = assign.accessor<float, 3>();
  auto nm = node_mention.accessor<int64_t, 3>();
  auto valid = node_mention_valid.accessor<bool, 3>();
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> seen(static_cast<size_t>(nodes), 0);
    for (size_t m = 0; m < pooling[b].node.size(); ++m) {
      for (int r : pooling[b].rows[m]) {
        q[b][m][r] += 1.0f / static_cast<float>(pooling[b].rows[m].size());
      }
      for (int t : pooling[b].keys[m]) k[b][m][t] = 1.0f;
      const int64_t node = pooling[b].node[m];
      a[b][node][m] = 1.0f / static_cast<float>(node_mentions[b][node].size());
      nm[b][node][seen[node]] = static_cast<int64_t>(m);
      valid[b][node][seen[node]++] = true;
    }
  }
  const at::Device device = attention_rows.device();
  // To a GPU from pinned memory: queued without the host waiting for the forward pass (a
  // copy from pageable memory may wait for it).
  const auto on_device = [&](const at::Tensor& t) {
    return device.is_cuda() ? t.pin_memory().to(device, /*non_blocking=*/true) : t.to(device);
  };

  const at::Tensor attention = PreprocessAttentionRows(attention_rows.to(at::kFloat), options);
  // [L, B, H, mentions, mentions]: from mention a (rows) to mention b (columns).
  const at::Tensor scores = at::matmul(at::matmul(on_device(query_pool).unsqueeze(1), attention),
                                       on_device(key_pool).transpose(1, 2).unsqueeze(1));

  at::Tensor pair;  // [L, B, H, N, N]
  if (options.aggregation == MentionAggregation::kMean) {
    const at::Tensor node_pool = on_device(assign).unsqueeze(1);
    pair = at::matmul(at::matmul(node_pool, scores), node_pool.transpose(-1, -2));
  } else {
    // The largest score over (mention of i, mention of j): node i's mentions gathered from the
    // rows, node j's from the columns, padding at -inf, then the maximum over both.
    const int64_t listed = nodes * mentions_per_node;
    const at::Tensor index = on_device(node_mention).view({1, batch, 1, listed});
    const at::Tensor mask = on_device(node_mention_valid).view({1, batch, 1, listed});
    const float lowest = -std::numeric_limits<float>::infinity();
    at::Tensor from =
        scores.gather(3, index.unsqueeze(-1).expand({layers, batch, heads, listed, mentions}));
    from = from.masked_fill(mask.unsqueeze(-1).logical_not(), lowest)
               .view({layers, batch, heads, nodes, mentions_per_node, mentions})
               .amax(4);  // [L, B, H, N, mentions]
    at::Tensor both =
        from.gather(4, index.unsqueeze(3).expand({layers, batch, heads, nodes, listed}));
    both = both.masked_fill(mask.unsqueeze(3).logical_not(), lowest)
               .view({layers, batch, heads, nodes, nodes, mentions_per_node})
               .amax(5);
    pair = both.masked_fill(both == lowest, 0.0);  // pairs with a padded node
  }
  at::Tensor forward = pair.permute({1, 3, 4, 0, 2});  // [B, N, N, L, H]
  if (!options.both_directions) {
    return forward.reshape({batch, nodes, nodes, layers * heads}).contiguous();
  }
  at::Tensor backward = pair.transpose(3, 4).permute({1, 3, 4, 0, 2});
  return at::stack({forward, backward}, -1)
      .reshape({batch, nodes, nodes, layers * heads * 2})
      .contiguous();
}

absl::StatusOr<at::Tensor> PairFeatures(
    const at::Tensor& attention_rows, const std::vector<int>& row_of_token,
    const std::vector<std::vector<std::vector<int>>>& node_mentions,
    const FeatureOptions& options) {
  if (attention_rows.dim() != 4) {
    return absl::InvalidArgumentError("attention rows must be [L, H, R, T]");
  }
  GP_ASSIGN_OR_RETURN(at::Tensor batch,
                      BatchPairFeatures(attention_rows.cpu().unsqueeze(1), {row_of_token},
                                        {node_mentions}, options));
  return batch[0];
}

at::Tensor AverageOverOrderings(const std::vector<at::Tensor>& features) {
  return at::stack(features).mean(0);
}

}  // namespace gp
