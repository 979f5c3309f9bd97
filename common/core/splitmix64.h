// splitmix64 (Steele, Lea and Flood, 2014): the one 64-bit generator step every seeded draw of
// graphprobe is built on (graphs, probe seeds, random weights), fully specified so that a seed
// gives the same numbers with every compiler and standard library.
#pragma once

#include <cstdint>

namespace gp {

// Advances `state` and returns its next output.
inline uint64_t SplitMix64Next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One step from `x` as a stateless hash: a well-mixed 64-bit value of a 64-bit key.
inline uint64_t SplitMix64Hash(uint64_t x) { return SplitMix64Next(x); }

}  // namespace gp
