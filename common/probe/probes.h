// Probes that map node-pair features [B, N, N, F] to edge logits [B, N, N, K]:
// - pair-mlp: an MLP on each pair's feature vector (shared over pairs: works at any N), K = 1;
// - graph-mlp: the flattened N x N x F features of a graph -> N x N logits, K = 1;
// - gcn: GCNConv layers (torch_geometric semantics) over the nodes, with edge weights
//   learned from the pair features, node embeddings decoded into pair logits, K = 1.
// Parameters are plain tensors (requires_grad) so any optimizer can drive them. The per-head
// and per-layer logistic probes (logreg-head, logreg-layer) are no gradient probes: they are
// fitted to convergence by `logistic.h` (see trainer.cc).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe/train_options.h"

namespace gp {

class Probe {
 public:
  virtual ~Probe() = default;
  // features [B, N, N, F] (standardized), node_mask bool [B, N] -> logits [B, N, N, 1].
  // Training passes the generator of the dropout masks (the caller's own, so concurrent
  // trainings never share random state); evaluation passes nullptr.
  virtual at::Tensor Forward(const at::Tensor& features, const at::Tensor& node_mask,
                             at::Generator* dropout_rng) const = 0;
  virtual std::vector<at::Tensor> Parameters() const = 0;
};

// Gradient probes only (pair-mlp, graph-mlp, gcn). Errors name the fields (`probe`, `hidden`,
// `layers`, `dropout`).
absl::StatusOr<std::unique_ptr<Probe>> MakeProbe(const ProbeOptions& options, int64_t num_nodes,
                                                 int64_t num_features, uint64_t seed);

// torch_geometric's GCNConv normalization on a dense adjacency A [B, N, N] with
// A[b][target][source] = edge weight: self-loops added (weight 1, or 2 when `improved`;
// with edge weights, a node's existing self-loop keeps its weight, as
// add_remaining_self_loops does; without, torch_geometric 2.8 makes every weight 1 after
// adding the loops, so `improved` changes nothing), then D^-1/2 A D^-1/2 with D the weighted
// in-degree.
at::Tensor GcnNormalize(const at::Tensor& adjacency, bool add_self_loops, bool improved,
                        bool weighted = true);

// GCNConv(x) = Â (x W^T) + b for x [B, N, in], W [out, in].
at::Tensor GcnConv(const at::Tensor& normalized_adjacency, const at::Tensor& x,
                   const at::Tensor& weight, const at::Tensor& bias);

}  // namespace gp
