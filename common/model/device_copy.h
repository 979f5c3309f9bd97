// Host tensors on their way to a GPU without the host waiting for the work queued there.
#pragma once

#include <ATen/core/Tensor.h>

namespace gp {

// `tensor` on `device`. A blocking copy to a GPU waits for everything queued before it (the
// previous batch), and even a non-blocking one from pageable memory may; from pinned memory it
// is queued like a kernel (the caching host allocator keeps the pinned block until the copy has
// run). On a CPU, or for a tensor already on a device, a plain `to`.
at::Tensor ToDeviceWithoutWaiting(const at::Tensor& tensor, const at::Device& device);

// `source` (a host tensor) copied into `destination` (of its shape, anywhere) the same way.
void CopyWithoutWaiting(const at::Tensor& source, at::Tensor& destination);

}  // namespace gp
