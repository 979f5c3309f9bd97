#include "common/core/allocator_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace gp {

void TuneAllocatorForTensors() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace gp
