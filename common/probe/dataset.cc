// Dataset file loading and validation.
#include "common/probe/dataset.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "common/core/safetensors.h"
#include "common/core/status.h"
#include "common/model/tensor_io.h"
#include "common/probe/dataset_layout.h"

namespace gp {

at::Tensor ProbeDataset::Indices(int split_id) const {
  return (split == split_id).nonzero().view({-1});
}

absl::Status ValidateProbeDataset(const ProbeDataset& d, const std::string& where) {
  // The same checks as a file gets, on views of the tensors' bytes (contiguous CPU copies in
  // the file's dtypes; node_mask is bool in memory, uint8 in the file).
  const auto contiguous = [](const at::Tensor& t) { return t.cpu().contiguous(); };
  const at::Tensor features = contiguous(d.features), adjacency = contiguous(d.adjacency),
                   node_mask = contiguous(d.node_mask).to(at::kByte), split = contiguous(d.split),
                   graph_id = contiguous(d.graph_id);
  const auto view = [&](const char* name, const at::Tensor& tensor,
                        at::ScalarType dtype) -> absl::StatusOr<TensorView> {
    if (!tensor.defined() || tensor.scalar_type() != dtype) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": tensor '", name, "' must be ", c10::toString(dtype)));
    }
    return ViewOf(tensor);
  };
  DatasetViews views;
  GP_ASSIGN_OR_RETURN(views.features, view("features", features, at::kFloat));
  GP_ASSIGN_OR_RETURN(views.adjacency, view("adjacency", adjacency, at::kByte));
  GP_ASSIGN_OR_RETURN(views.node_mask, view("node_mask", node_mask, at::kByte));
  GP_ASSIGN_OR_RETURN(views.split, view("split", split, at::kByte));
  GP_ASSIGN_OR_RETURN(views.graph_id, view("graph_id", graph_id, at::kLong));
  at::Tensor node_name_id, position_features;
  if (d.node_name_id.defined()) {
    node_name_id = contiguous(d.node_name_id);
    GP_ASSIGN_OR_RETURN(views.node_name_id, view("node_name_id", node_name_id, at::kLong));
  }
  if (d.position_features.defined()) {
    position_features = contiguous(d.position_features);
    GP_ASSIGN_OR_RETURN(views.position_features,
                        view("position_features", position_features, at::kFloat));
  }
  return CheckDatasetViews(views, where).status();
}

absl::StatusOr<ProbeDataset> LoadProbeDataset(const std::string& path) {
  GP_ASSIGN_OR_RETURN(SafetensorsFile file, SafetensorsFile::Open(path));
  // Checked on the mapped bytes before any tensor is made (common/probe/dataset_layout.h).
  GP_ASSIGN_OR_RETURN(DatasetViews views, DatasetViewsOf(file, path));
  GP_RETURN_IF_ERROR(CheckDatasetViews(views, path).status());
  ProbeDataset d;
  GP_ASSIGN_OR_RETURN(d.features, ToTensor(views.features));
  GP_ASSIGN_OR_RETURN(d.adjacency, ToTensor(views.adjacency));
  GP_ASSIGN_OR_RETURN(at::Tensor node_mask, ToTensor(views.node_mask));
  d.node_mask = node_mask.to(at::kBool);
  GP_ASSIGN_OR_RETURN(d.split, ToTensor(views.split));
  GP_ASSIGN_OR_RETURN(d.graph_id, ToTensor(views.graph_id));
  if (views.node_name_id) {
    GP_ASSIGN_OR_RETURN(d.node_name_id, ToTensor(*views.node_name_id));
  }
  if (views.position_features) {
    GP_ASSIGN_OR_RETURN(d.position_features, ToTensor(*views.position_features));
  }
  auto spec = file.metadata().find("spec");
  if (spec != file.metadata().end()) d.spec = nlohmann::json::parse(spec->second, nullptr, false);
  if (d.spec.is_discarded()) d.spec = nlohmann::json();
  return d;
}

}  // namespace gp
