// DType <-> ScalarType, tensor views in and out of safetensors files.
#include "common/model/tensor_io.h"

#include <ATen/ATen.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {

absl::StatusOr<at::ScalarType> ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return at::kFloat;
    case DType::kF16:
      return at::kHalf;
    case DType::kBF16:
      return at::kBFloat16;
    case DType::kF64:
      return at::kDouble;
    case DType::kI64:
      return at::kLong;
    case DType::kI32:
      return at::kInt;
    case DType::kI16:
      return at::kShort;
    case DType::kI8:
      return at::kChar;
    case DType::kU8:
      return at::kByte;
    case DType::kBool:
      return at::kBool;
  }
  return absl::InvalidArgumentError("unknown dtype");
}

absl::StatusOr<DType> ToDType(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return DType::kF32;
    case at::kHalf:
      return DType::kF16;
    case at::kBFloat16:
      return DType::kBF16;
    case at::kDouble:
      return DType::kF64;
    case at::kLong:
      return DType::kI64;
    case at::kInt:
      return DType::kI32;
    case at::kShort:
      return DType::kI16;
    case at::kChar:
      return DType::kI8;
    case at::kByte:
      return DType::kU8;
    case at::kBool:
      return DType::kBool;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("no safetensors dtype for ", c10::toString(type)));
  }
}

absl::StatusOr<at::Tensor> ToTensor(const TensorView& view) {
  GP_ASSIGN_OR_RETURN(at::ScalarType type, ToScalarType(view.dtype));
  // Copy rather than wrap: the mapping may be unaligned for the dtype and may go away.
  at::Tensor tensor = at::empty(view.shape, at::TensorOptions().dtype(type));
  if (view.nbytes > 0) std::memcpy(tensor.data_ptr(), view.data, view.nbytes);
  return tensor;
}

absl::StatusOr<TensorView> ViewOf(const at::Tensor& tensor) {
  if (!tensor.device().is_cpu() || !tensor.is_contiguous()) {
    return absl::InvalidArgumentError("only contiguous CPU tensors can be written");
  }
  TensorView view;
  GP_ASSIGN_OR_RETURN(view.dtype, ToDType(tensor.scalar_type()));
  view.shape = tensor.sizes().vec();
  view.data = static_cast<const uint8_t*>(tensor.data_ptr());
  view.nbytes = tensor.nbytes();
  return view;
}

absl::Status WriteTensors(const std::string& path,
                          const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                          const SafetensorsMetadata& metadata) {
  std::vector<at::Tensor> keep;  // host copies that the views point into
  std::vector<NamedTensorView> views;
  for (const auto& [name, tensor] : tensors) {
    keep.push_back(tensor.detach().to(at::kCPU).contiguous());
    GP_ASSIGN_OR_RETURN(TensorView view, ViewOf(keep.back()));
    views.push_back({name, std::move(view)});
  }
  return WriteSafetensors(path, views, metadata);
}

absl::StatusOr<std::map<std::string, at::Tensor>> ReadTensors(const std::string& path) {
  GP_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  std::map<std::string, at::Tensor> out;
  for (const auto& name : file.names()) {
    GP_ASSIGN_OR_RETURN(TensorView view, file.Get(name));
    GP_ASSIGN_OR_RETURN(out[name], ToTensor(view));
  }
  return out;
}

}  // namespace gp
