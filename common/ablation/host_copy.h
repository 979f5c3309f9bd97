// A device tensor on its way to host memory without stalling the host. On a CUDA device the
// copy goes into pinned memory as a non-blocking transfer queued behind the kernels that
// produce the tensor, and an event marks its completion: the host can queue the next batch's
// forward pass first and collect this batch's features afterwards. A CPU tensor is already
// on the host (no copy).
//
//   PendingHostCopy previous;
//   for (batch ...) {
//     PendingHostCopy next = PendingHostCopy::Start(FeaturesOnDevice(batch));
//     if (previous.started()) Consume(previous.Wait());   // overlaps `next`'s forward pass
//     previous = std::move(next);
//   }
//   if (previous.started()) Consume(previous.Wait());
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Event.h>

#include <optional>

namespace gp {

class PendingHostCopy {
 public:
  PendingHostCopy() = default;
  static PendingHostCopy Start(const at::Tensor& tensor);

  bool started() const { return host_.defined(); }
  // Whether the copy has landed (Wait would not block).
  bool ready() const;
  // Blocks until the copy has landed and returns the host tensor (contiguous).
  at::Tensor Wait();

 private:
  at::Tensor host_;
  std::optional<c10::Event> done_;  // recorded after the copy on the producing stream
};

}  // namespace gp
