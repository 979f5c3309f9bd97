// A dataset file (DESIGN.md: features, adjacency, node_mask, split, graph_id) loaded and
// checked, with clear errors for missing tensors, mismatched shapes and unusable splits.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

struct ProbeDataset {
  at::Tensor features;   // float [G, N, N, F]
  at::Tensor adjacency;  // uint8 [G, N, N]
  at::Tensor node_mask;  // bool [G, N]
  at::Tensor split;      // uint8 [G]: 0 train, 1 validation, 2 test
  at::Tensor graph_id;   // int64 [G]
  // Optional (undefined when the file has none):
  at::Tensor node_name_id;       // int64 [G, N]: the node's name (a hash), for the control task
  at::Tensor position_features;  // float [G, N, N, P]: mention offsets, for the positional baseline
  nlohmann::json spec;           // metadata "spec" (empty when absent)

  int64_t num_graphs() const { return features.size(0); }
  int64_t num_nodes() const { return features.size(1); }
  int64_t num_features() const { return features.size(3); }
  // Graph indices of one split, ascending.
  at::Tensor Indices(int split_id) const;
};

// Checks: every tensor present with the contract's dtype and matching shapes, train and
// validation and test splits non-empty, at least one edge among training graphs.
absl::StatusOr<ProbeDataset> LoadProbeDataset(const std::string& path);
// The same checks for tensors already in memory (tests, in-process pipelines).
absl::Status ValidateProbeDataset(const ProbeDataset& data, const std::string& where);

}  // namespace gp
