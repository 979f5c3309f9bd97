// Bridges torch-free tensor files (common/core/safetensors.h) and ATen tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/core/safetensors.h"

namespace gp {

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype);
absl::StatusOr<DType> ToDType(at::ScalarType type);

// Copies a view into an owned CPU tensor of the view's dtype.
absl::StatusOr<at::Tensor> ToTensor(const TensorView& view);

// A view of a contiguous CPU tensor's bytes (the tensor must outlive the view).
absl::StatusOr<TensorView> ViewOf(const at::Tensor& tensor);

// Writes named tensors (moved to CPU and made contiguous first) as a safetensors file.
absl::Status WriteTensors(const std::string& path,
                          const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                          const SafetensorsMetadata& metadata = {});

// Reads every tensor of a safetensors file.
absl::StatusOr<std::map<std::string, at::Tensor>> ReadTensors(const std::string& path);

}  // namespace gp
