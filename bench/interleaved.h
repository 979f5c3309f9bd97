// Timing several ways of doing one thing on a shared, noisy machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace gp {

// Seconds of the fastest run of each mode over `repeats` rounds (after one warm-up round).
// The modes alternate within a round, so drift in machine load hits them alike.
inline std::vector<double> FastestInterleaved(int64_t repeats,
                                              const std::vector<std::function<void()>>& modes) {
  std::vector<double> best(modes.size(), 1e30);
  for (int64_t round = -1; round < repeats; ++round) {
    for (size_t i = 0; i < modes.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      modes[i]();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (round >= 0) best[i] = std::min(best[i], seconds);
    }
  }
  return best;
}

}  // namespace gp
