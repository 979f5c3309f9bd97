#include "common/model/host_tensor.h"

#include <ATen/ops/empty.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace gp {
namespace {

// Smaller tensors come from the heap, whose pages are reused (already faulted in) rather
// than mapped afresh; hinting them too measured no faster (bench/random_init_bench).
constexpr int64_t kHugePageHintBytes = int64_t{32} << 20;

// Asks for huge pages over the whole pages inside [data, data + bytes). Only the 2 MiB-aligned
// stretches of it can get them; a refusal (no THP in this kernel) leaves 4 KiB pages, which
// are correct too, so its error is not one.
void AdviseHugePages(void* data, int64_t bytes) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end =
      (reinterpret_cast<uintptr_t>(data) + static_cast<uintptr_t>(bytes)) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

}  // namespace

bool HostTensorHugePagesWanted() {
  const char* value = std::getenv("GRAPHPROBE_HUGE_PAGES");
  if (value == nullptr) return true;
  // "0" and "false", as the flags' environment variables take them (flags.cc), and "off".
  for (const char* no : {"0", "false", "off"}) {
    if (std::strcmp(value, no) == 0) return false;
  }
  return true;
}

at::Tensor EmptyHostTensor(at::IntArrayRef shape, at::ScalarType dtype) {
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(dtype));
  // Before the first write: a page the hint finds already faulted in stays small.
  if (static_cast<int64_t>(tensor.nbytes()) >= kHugePageHintBytes && HostTensorHugePagesWanted())
    AdviseHugePages(tensor.data_ptr(), static_cast<int64_t>(tensor.nbytes()));
  return tensor;
}

}  // namespace gp
