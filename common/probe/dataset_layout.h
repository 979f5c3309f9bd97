// The dataset file contract (DESIGN.md: features F32 [G, N, N, F], adjacency U8 [G, N, N],
// node_mask U8 [G, N], split U8 [G], graph_id I64 [G]; optional node_name_id I64 [G, N] and
// position_features F32 [G, N, N, P]) checked on raw tensor views. No libtorch: the loader
// checks a file with it before any tensor is made, and tests/fuzz feeds it hostile files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/core/safetensors.h"

namespace gp {

struct DatasetViews {
  TensorView features, adjacency, node_mask, split, graph_id;
  std::optional<TensorView> node_name_id, position_features;
};

struct DatasetShape {
  int64_t graphs = 0, nodes = 0, features = 0;
};

// The contract's tensors of `file`, each required one present and each with its dtype;
// InvalidArgument naming `where` and the tensor otherwise.
absl::StatusOr<DatasetViews> DatasetViewsOf(const SafetensorsFile& file, const std::string& where);

// Shapes that agree ([G, N, N, F] and the rest), at least one graph, split values in {0, 1, 2}
// with no split empty, features finite, at least one edge among the training graphs.
// InvalidArgument naming `where` and what is wrong.
absl::StatusOr<DatasetShape> CheckDatasetViews(const DatasetViews& views, const std::string& where);

}  // namespace gp
