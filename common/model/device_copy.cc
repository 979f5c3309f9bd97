#include "common/model/device_copy.h"

#include <ATen/ATen.h>

namespace gp {

at::Tensor ToDeviceWithoutWaiting(const at::Tensor& tensor, const at::Device& device) {
  if (!device.is_cuda() || !tensor.device().is_cpu()) return tensor.to(device);
  return tensor.pin_memory().to(device, /*non_blocking=*/true);
}

void CopyWithoutWaiting(const at::Tensor& source, at::Tensor& destination) {
  if (!destination.is_cuda() || !source.device().is_cpu()) {
    destination.copy_(source);
    return;
  }
  destination.copy_(source.pin_memory(), /*non_blocking=*/true);
}

}  // namespace gp
