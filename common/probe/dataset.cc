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
  struct Field {
    const char* name;
    at::ScalarType dtype;
    at::Tensor* slot;
  };
  for (const Field& f :
       {Field{"features", at::kFloat, &d.features}, Field{"adjacency", at::kByte, &d.adjacency},
        Field{"node_mask", at::kByte, &d.node_mask}, Field{"split", at::kByte, &d.split},
        Field{"graph_id", at::kLong, &d.graph_id}}) {
    auto it = tensors.find(f.name);
    if (it == tensors.end())
      return absl::InvalidArgumentError(absl::StrCat(path, ": missing tensor '", f.name, "'"));
    if (it->second.scalar_type() != f.dtype) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor '", f.name, "' is ",
                                                     c10::toString(it->second.scalar_type()),
                                                     ", expected ", c10::toString(f.dtype)));
    }
    *f.slot = it->second;
  }
  d.node_mask = d.node_mask.to(at::kBool);
  if (tensors.count("node_position")) d.node_position = tensors.at("node_position").to(at::kFloat);
  auto spec = file.metadata().find("spec");
  if (spec != file.metadata().end()) d.spec = nlohmann::json::parse(spec->second, nullptr, false);
  if (d.spec.is_discarded()) d.spec = nlohmann::json();
  GP_RETURN_IF_ERROR(ValidateProbeDataset(d, path));
  return d;
}

}  // namespace gp
