// A small seeded generator with a fully specified algorithm (splitmix64), so a graph drawn
// from a seed is the same with every compiler and standard library.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/core/splitmix64.h"

namespace gp {

class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  // Another independent stream derived from a seed and a stream number.
  static SeededRandom Stream(uint64_t seed, uint64_t stream) {
    SeededRandom r(seed ^ (0x9e3779b97f4a7c15ULL * (stream + 1)));
    r.Next();
    return r;
  }

  uint64_t Next() { return SplitMix64Next(state_); }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  template <typename T>
  void Shuffle(std::vector<T>* v) {  // Fisher-Yates
    for (size_t i = v->size(); i > 1; --i) std::swap((*v)[i - 1], (*v)[Below(i)]);
  }

 private:
  uint64_t state_;
};

}  // namespace gp
