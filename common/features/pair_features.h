// Token attention -> node-pair features. M[l,h][i,j] is the attention from node i's tokens to
// node j's tokens in head h of layer l:
// - token pooling (Clark et al. 2019, "What Does BERT Look At?"): attention *to* a
//   multi-token mention is the sum over its tokens, attention *from* it the mean over its tokens;
// - mention aggregation over repeated mentions: mean or max over (mention of i, mention of j);
// - modes applied to each query row before pooling: raw; argmax (the most attended key as a
//   one-hot); topk:K (the K largest keys, as values or ones);
// - sink: keep, or drop the first position (BOS) and renormalize each row;
// - directions: i->j, or i->j and j->i concatenated;
// and the mean over P orderings of a graph (AverageOverOrderings).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/features/feature_options.h"

namespace gp {

// attention_rows: float [L, H, R, T]: rows of query tokens over every key position t < T.
// row_of_token[t]: which row holds query token t (-1 if not captured; node tokens must be).
// node_mentions[i][m]: token indices of mention m of node i (each non-empty).
// Returns float [N, N, L * H * directions], feature order (layer, head, direction).
absl::StatusOr<at::Tensor> PairFeatures(
    const at::Tensor& attention_rows, const std::vector<int>& row_of_token,
    const std::vector<std::vector<std::vector<int>>>& node_mentions, const FeatureOptions& options);

// The same for a batch of prompts in one pass on the rows' device (what a GPU extractor pools
// before copying anything to the host): attention_rows float [L, B, H, R, T], prompt b's rows
// and keys padded to R and T (padded keys must hold zeros, as a causal forward leaves them);
// row_of_token[b] and node_mentions[b] as above. Returns float [B, N, N, F] on that device, N
// the largest node count; a prompt's pairs beyond its own nodes are zero.
absl::StatusOr<at::Tensor> BatchPairFeatures(
    const at::Tensor& attention_rows, const std::vector<std::vector<int>>& row_of_token,
    const std::vector<std::vector<std::vector<std::vector<int>>>>& node_mentions,
    const FeatureOptions& options);

// The per-row transform of a mode (and sink dropping) on [..., rows, T].
at::Tensor PreprocessAttentionRows(at::Tensor rows, const FeatureOptions& options);

// The mean of per-ordering features [N, N, F] (same node identities in each).
at::Tensor AverageOverOrderings(const std::vector<at::Tensor>& features);

}  // namespace gp
