// PCRE2 wrapper with JIT where available.
#include "common/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "absl/strings/str_cat.h"

namespace gp {

struct Regex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

absl::StatusOr<Regex> Regex::Compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(absl::StrCat("regex '", pattern, "' at offset ", offset, ": ",
                                                   reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
  Regex regex;
  regex.code_ = std::make_shared<Code>();
  regex.code_->code = code;
  return regex;
}

std::vector<std::pair<size_t, size_t>> Regex::FindAll(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(code_->code, nullptr);
  size_t start = 0;
  while (start <= text.size()) {
    // Input was validated as UTF-8 once; skip PCRE2's check on every call.
    const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                               start, PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const size_t begin = ovector[0], end = ovector[1];
    if (end == begin) {  // empty match: step one character
      if (begin >= text.size()) break;
      start = begin + 1;
      while (start < text.size() && (static_cast<uint8_t>(text[start]) & 0xc0) == 0x80) ++start;
      continue;
    }
    out.emplace_back(begin, end);
    start = end;
  }
  pcre2_match_data_free(match);
  return out;
}

std::vector<std::pair<size_t, size_t>> Pattern::FindAll(std::string_view text) const {
  if (is_regex_) return regex_.FindAll(text);
  std::vector<std::pair<size_t, size_t>> out;
  if (literal_.empty()) return out;
  for (size_t p = text.find(literal_); p != std::string_view::npos;
       p = text.find(literal_, p + literal_.size())) {
    out.emplace_back(p, p + literal_.size());
  }
  return out;
}

}  // namespace gp
