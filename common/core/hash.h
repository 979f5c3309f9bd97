// A fixed 64-bit hash of bytes (FNV-1a): the same value on every machine, compiler and run, for
// ids that are stored in files or sent between services (node-name ids, content keys).
#pragma once

#include <cstdint>
#include <string_view>

namespace gp {

inline uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace gp
