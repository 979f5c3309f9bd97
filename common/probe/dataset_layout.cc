#include "common/probe/dataset_layout.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/status.h"

namespace gp {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::StatusOr<DatasetViews> DatasetViewsOf(const SafetensorsFile& file, const std::string& where) {
  const auto take = [&](const char* name, DType dtype) -> absl::StatusOr<TensorView> {
    absl::StatusOr<TensorView> view = file.Get(name);
    if (!view.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": missing tensor '", name, "'"));
    }
    if (view->dtype != dtype) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": tensor '", name, "' is ",
                                                     std::string(DTypeName(view->dtype)),
                                                     ", expected ", std::string(DTypeName(dtype))));
    }
    return view;
  };
  const auto has = [&](const char* name) { return file.Get(name).ok(); };
  DatasetViews views;
  GP_ASSIGN_OR_RETURN(views.features, take("features", DType::kF32));
  GP_ASSIGN_OR_RETURN(views.adjacency, take("adjacency", DType::kU8));
  GP_ASSIGN_OR_RETURN(views.node_mask, take("node_mask", DType::kU8));
  GP_ASSIGN_OR_RETURN(views.split, take("split", DType::kU8));
  GP_ASSIGN_OR_RETURN(views.graph_id, take("graph_id", DType::kI64));
  if (has("node_name_id")) {
    GP_ASSIGN_OR_RETURN(views.node_name_id, take("node_name_id", DType::kI64));
  }
  if (has("position_features")) {
    GP_ASSIGN_OR_RETURN(views.position_features, take("position_features", DType::kF32));
  }
  return views;
}

absl::StatusOr<DatasetShape> CheckDatasetViews(const DatasetViews& v, const std::string& where) {
  const auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  };
  const std::vector<int64_t>& f = v.features.shape;
  if (f.size() != 4 || f[1] != f[2]) {
    return error(absl::StrCat("'features' must be [G, N, N, F], got ", ShapeText(f)));
  }
  const int64_t g = f[0], n = f[1];
  const auto expect = [&](const char* name, const TensorView& view,
                          const std::vector<int64_t>& shape) -> absl::Status {
    if (view.shape == shape) return absl::OkStatus();
    return error(absl::StrCat("'", name, "' must be ", ShapeText(shape), " like features, got ",
                              ShapeText(view.shape)));
  };
  GP_RETURN_IF_ERROR(expect("adjacency", v.adjacency, {g, n, n}));
  GP_RETURN_IF_ERROR(expect("node_mask", v.node_mask, {g, n}));
  GP_RETURN_IF_ERROR(expect("split", v.split, {g}));
  GP_RETURN_IF_ERROR(expect("graph_id", v.graph_id, {g}));
  if (g == 0) return error("no graphs");
  if (v.node_name_id) GP_RETURN_IF_ERROR(expect("node_name_id", *v.node_name_id, {g, n}));
  if (v.position_features) {
    const std::vector<int64_t>& p = v.position_features->shape;
    if (p.size() != 4 || p[0] != g || p[1] != n || p[2] != n) {
      return error(absl::StrCat("'position_features' must be [", g, ", ", n, ", ", n, ", P], got ",
                                ShapeText(p)));
    }
  }
  int64_t per_split[3] = {0, 0, 0};
  for (int64_t i = 0; i < g; ++i) {
    const uint8_t s = v.split.data[i];
    if (s > 2) return error("'split' holds values other than 0, 1, 2");
    ++per_split[s];
  }
  const char* split_names[] = {"train", "validation", "test"};
  for (int s = 0; s < 3; ++s) {
    if (per_split[s] == 0) return error(absl::StrCat("the ", split_names[s], " split is empty"));
  }
  // Element by element through memcpy: a mapped file's data need not be 4-byte aligned.
  for (int64_t i = 0; i < v.features.numel(); ++i) {
    float x;
    std::memcpy(&x, v.features.data + i * sizeof(float), sizeof(float));
    if (!std::isfinite(x)) return error("'features' holds NaN or infinity");
  }
  bool training_edge = false;
  for (int64_t i = 0; i < g && !training_edge; ++i) {
    if (v.split.data[i] != 0) continue;
    const uint8_t* graph = v.adjacency.data + i * n * n;
    for (int64_t k = 0; k < n * n && !training_edge; ++k) training_edge = graph[k] != 0;
  }
  if (!training_edge) return error("no training graph has an edge: all labels are zero");
  return DatasetShape{g, n, f[3]};
}

}  // namespace gp
