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

// A tokenizer.json `pattern`: a literal string ({"String": s}) or a regex ({"Regex": r}).
class Pattern {
 public:
  static Pattern Literal(std::string literal) {
    Pattern p;
    p.literal_ = std::move(literal);
    return p;
  }
  static Pattern FromRegex(Regex regex) {
    Pattern p;
    p.regex_ = std::move(regex);
    p.is_regex_ = true;
    return p;
  }
  // Byte ranges of every non-overlapping match, left to right (none for an empty literal).
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  std::string literal_;
  Regex regex_;
  bool is_regex_ = false;
};

}  // namespace gp
