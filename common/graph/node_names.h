// Node name schemes: letters (A..Z, then AA, AB, ...), integers, words. Each graph draws a
// random subset of the scheme's names in random order, so a name says nothing about a node's
// index or rank.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

enum class NameScheme { kLetters, kIntegers, kWords };

absl::StatusOr<NameScheme> ParseNameScheme(const std::string& name);  // letters|integers|words
std::string NameSchemeName(NameScheme scheme);

// The scheme's pool: letters A..Z then AA..ZZ, integers 0..99, and 80 short common words.
const std::vector<std::string>& NamePool(NameScheme scheme);

// `count` distinct names, shuffled; deterministic in `seed`. InvalidArgument when the pool is
// smaller than `count`.
absl::StatusOr<std::vector<std::string>> DrawNodeNames(NameScheme scheme, int count, uint64_t seed);

}  // namespace gp
