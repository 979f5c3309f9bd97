// Tensors on the wire: a float tensor cut into TensorChunk messages of at most a given size,
// as float32 or bfloat16, and put back together on the other side with every piece checked.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "graphprobe/v1/common.pb.h"

namespace gp {

// The most tensor bytes one message carries.
constexpr size_t kMaxChunkBytes = 1 << 20;

// Sends `tensor` (any float dtype, converted to `wire`: DTYPE_F32 or DTYPE_BF16) as chunks of
// at most `max_bytes`, in order; stops at the first error `send` returns.
absl::Status SendTensorChunks(const std::string& name, const at::Tensor& tensor,
                              graphprobe::v1::DType wire, size_t max_bytes,
                              const std::function<absl::Status(graphprobe::v1::TensorChunk)>& send);

// Collects the chunks of one tensor: each must continue where the last ended, with the same
// name, dtype, shape and total; Take() gives the float32 tensor once all bytes arrived.
class TensorAssembler {
 public:
  absl::Status Add(const graphprobe::v1::TensorChunk& chunk);
  bool complete() const { return started_ && received_ == total_; }
  absl::StatusOr<at::Tensor> Take();

 private:
  bool started_ = false;
  graphprobe::v1::TensorChunk first_;  // name, dtype, shape of the tensor (no data)
  std::string data_;
  uint64_t received_ = 0, total_ = 0;
};

}  // namespace gp
