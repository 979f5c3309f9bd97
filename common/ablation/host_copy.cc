#include "common/ablation/host_copy.h"

#include <ATen/ATen.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <thread>

namespace gp {

PendingHostCopy PendingHostCopy::Start(const at::Tensor& tensor) {
  PendingHostCopy pending;
  if (!tensor.is_cuda()) {
    pending.host_ = tensor.contiguous();
    return pending;
  }
  pending.host_ =
      at::empty(tensor.sizes(), at::TensorOptions().dtype(tensor.dtype()).pinned_memory(true));
  // Queued on the tensor's current stream, after the kernels that produce it; from pinned
  // memory the copy engine runs it without the host waiting.
  pending.host_.copy_(tensor, /*non_blocking=*/true);
  const c10::impl::VirtualGuardImpl guard(tensor.device().type());
  pending.done_.emplace(tensor.device().type());
  pending.done_->record(guard.getStream(tensor.device()));
  return pending;
}

bool PendingHostCopy::ready() const { return !done_.has_value() || done_->query(); }

at::Tensor PendingHostCopy::Wait() {
  // c10::Event has no blocking wait before libtorch 2.x; the transfer is one [B, N, N, F]
  // block, so polling with yields costs little.
  while (!ready()) std::this_thread::yield();
  done_.reset();
  return host_;
}

}  // namespace gp
