// PCRE2 (UTF + UCP) patterns as tokenizers' Split uses them: \p{L}, \p{N}, (?i:...) and
// lookahead, which std::regex and RE2 lack.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

class Regex {
 public:
  // InvalidArgument with PCRE2's message and offset for a bad pattern.
  static absl::StatusOr<Regex> Compile(const std::string& pattern);
  // Byte ranges of every non-overlapping match, left to right (empty matches skipped).
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  struct Code;
  std::shared_ptr<Code> code_;
};

}  // namespace gp
