// Dataset file loading and validation.
#include "common/probe/dataset.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/safetensors.h"
#include "common/core/status.h"
#include "common/model/tensor_io.h"

namespace gp {

at::Tensor ProbeDataset::Indices(int split_id) const {
  return (split == split_id).nonzero().view({-1});
}

absl::Status ValidateProbeDataset(const ProbeDataset& d, const std::string& where) {
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  };
  if (d.features.dim() != 4 || d.features.size(1) != d.features.size(2)) {
    return error(absl::StrCat("'features' must be [G, N, N, F], got [",
                              absl::StrJoin(d.features.sizes(), ","), "]"));
  }
  const int64_t g = d.features.size(0), n = d.features.size(1);
  if (d.adjacency.sizes() != at::IntArrayRef({g, n, n})) {
    return error(absl::StrCat("'adjacency' must be [", g, ", ", n, ", ", n,
                              "] like features, got [", absl::StrJoin(d.adjacency.sizes(), ","),
                              "]"));
  }
  if (d.node_mask.sizes() != at::IntArrayRef({g, n})) {
    return error(absl::StrCat("'node_mask' must be [", g, ", ", n, "], got [",
                              absl::StrJoin(d.node_mask.sizes(), ","), "]"));
  }
  if (d.split.sizes() != at::IntArrayRef({g}))
    return error(absl::StrCat("'split' must be [", g, "]"));
  if (g == 0) return error("no graphs");
  if (d.split.max().item<int64_t>() > 2) return error("'split' holds values other than 0, 1, 2");
  const char* names[] = {"train", "validation", "test"};
  for (int s = 0; s < 3; ++s) {
    if ((d.split == s).sum().item<int64_t>() == 0)
      return error(absl::StrCat("the ", names[s], " split is empty"));
  }
  if (d.node_name_id.defined() && d.node_name_id.sizes() != at::IntArrayRef({g, n})) {
    return error(absl::StrCat("'node_name_id' must be [", g, ", ", n, "], got [",
                              absl::StrJoin(d.node_name_id.sizes(), ","), "]"));
  }
  if (d.position_features.defined() &&
      (d.position_features.dim() != 4 || d.position_features.size(0) != g ||
       d.position_features.size(1) != n || d.position_features.size(2) != n)) {
    return error(absl::StrCat("'position_features' must be [", g, ", ", n, ", ", n, ", P], got [",
                              absl::StrJoin(d.position_features.sizes(), ","), "]"));
  }
  if (!at::isfinite(d.features).all().item<bool>())
    return error("'features' holds NaN or infinity");
  const at::Tensor train = d.Indices(0);
  if (d.adjacency.index_select(0, train).sum().item<int64_t>() == 0) {
    return error("no training graph has an edge: all labels are zero");
  }
  return absl::OkStatus();
}

absl::StatusOr<ProbeDataset> LoadProbeDataset(const std::string& path) {
  GP_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  GP_ASSIGN_OR_RETURN(auto tensors, ReadTensors(path));
  ProbeDataset d;
  // Each tensor with the contract's dtype; the optional ones may be absent.
  const auto take = [&](const char* name, at::ScalarType dtype, bool required,
                        at::Tensor* slot) -> absl::Status {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      return required
                 ? absl::InvalidArgumentError(absl::StrCat(path, ": missing tensor '", name, "'"))
                 : absl::OkStatus();
    }
    if (it->second.scalar_type() != dtype) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", name, "' is ",
                                                     c10::toString(it->second.scalar_type()),
                                                     ", expected ", c10::toString(dtype)));
    }
    *slot = it->second;
    return absl::OkStatus();
  };
  GP_RETURN_IF_ERROR(take("features", at::kFloat, true, &d.features));
  GP_RETURN_IF_ERROR(take("adjacency", at::kByte, true, &d.adjacency));
  GP_RETURN_IF_ERROR(take("node_mask", at::kByte, true, &d.node_mask));
  GP_RETURN_IF_ERROR(take("split", at::kByte, true, &d.split));
  GP_RETURN_IF_ERROR(take("graph_id", at::kLong, true, &d.graph_id));
  GP_RETURN_IF_ERROR(take("node_name_id", at::kLong, false, &d.node_name_id));
  GP_RETURN_IF_ERROR(take("position_features", at::kFloat, false, &d.position_features));
  d.node_mask = d.node_mask.to(at::kBool);
  auto spec = file.metadata().find("spec");
  if (spec != file.metadata().end()) d.spec = nlohmann::json::parse(spec->second, nullptr, false);
  if (d.spec.is_discarded()) d.spec = nlohmann::json();
  GP_RETURN_IF_ERROR(ValidateProbeDataset(d, path));
  return d;
}

}  // namespace gp
