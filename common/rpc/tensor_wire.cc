// Chunked tensors.
#include "common/rpc/tensor_wire.h"

#include <ATen/ATen.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {
namespace {

using graphprobe::v1::DType;

absl::StatusOr<at::ScalarType> ScalarTypeOf(DType dtype) {
  switch (dtype) {
    case graphprobe::v1::DTYPE_F32:
      return at::kFloat;
    case graphprobe::v1::DTYPE_BF16:
      return at::kBFloat16;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "wire dtype ", graphprobe::v1::DType_Name(dtype), ": expected DTYPE_F32 or DTYPE_BF16"));
  }
}

}  // namespace

absl::Status SendTensorChunks(
    const std::string& name, const at::Tensor& tensor, DType wire, size_t max_bytes,
    const std::function<absl::Status(graphprobe::v1::TensorChunk)>& send) {
  GP_ASSIGN_OR_RETURN(at::ScalarType type, ScalarTypeOf(wire));
  const at::Tensor data = tensor.to(at::kCPU).to(type).contiguous();
  const size_t total = data.numel() * data.element_size();
  const char* bytes = static_cast<const char*>(data.data_ptr());
  const size_t step = std::max<size_t>(max_bytes, 1);
  size_t offset = 0;
  do {  // an empty tensor still sends one (empty) chunk with its shape
    graphprobe::v1::TensorChunk chunk;
    chunk.set_name(name);
    chunk.set_dtype(wire);
    for (int64_t d : data.sizes()) chunk.add_shape(d);
    chunk.set_offset(offset);
    chunk.set_total_bytes(total);
    const size_t n = std::min(step, total - offset);
    chunk.set_data(bytes + offset, n);
    offset += n;
    GP_RETURN_IF_ERROR(send(std::move(chunk)));
  } while (offset < total);
  return absl::OkStatus();
}

absl::Status TensorAssembler::Add(const graphprobe::v1::TensorChunk& chunk) {
  if (!started_) {
    GP_ASSIGN_OR_RETURN(at::ScalarType type, ScalarTypeOf(chunk.dtype()));
    uint64_t elements = 1;
    for (int64_t d : chunk.shape()) {
      if (d < 0)
        return absl::InvalidArgumentError(
            absl::StrCat("chunk '", chunk.name(), "': negative shape"));
      elements *= static_cast<uint64_t>(d);
    }
    if (elements * c10::elementSize(type) != chunk.total_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("chunk '", chunk.name(), "': total_bytes ",
                                                     chunk.total_bytes(),
                                                     " does not match its shape"));
    }
    first_ = chunk;
    first_.clear_data();
    total_ = chunk.total_bytes();
    data_.reserve(total_);
    started_ = true;
  } else if (chunk.name() != first_.name() || chunk.dtype() != first_.dtype() ||
             chunk.total_bytes() != total_ ||
             !std::equal(chunk.shape().begin(), chunk.shape().end(), first_.shape().begin(),
                         first_.shape().end())) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk '", chunk.name(), "' does not belong to tensor '", first_.name(), "'"));
  }
  if (chunk.offset() != received_ || received_ + chunk.data().size() > total_) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk '", chunk.name(), "' at offset ", chunk.offset(), " (",
                     chunk.data().size(), " bytes): expected offset ", received_, " of ", total_));
  }
  data_ += chunk.data();
  received_ += chunk.data().size();
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> TensorAssembler::Take() {
  if (!complete()) {
    return absl::DataLossError(absl::StrCat("tensor '", first_.name(), "': ", received_, " of ",
                                            total_, " bytes arrived"));
  }
  GP_ASSIGN_OR_RETURN(at::ScalarType type, ScalarTypeOf(first_.dtype()));
  std::vector<int64_t> shape(first_.shape().begin(), first_.shape().end());
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(type));
  if (!data_.empty()) std::memcpy(out.data_ptr(), data_.data(), data_.size());
  started_ = false;
  data_.clear();
  received_ = total_ = 0;
  return out.to(at::kFloat);
}

}  // namespace gp
