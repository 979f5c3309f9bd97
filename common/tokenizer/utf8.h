// UTF-8 helpers: validation with the position of the first bad byte, and code point iteration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gp {

// OK, or InvalidArgument naming the byte offset of the first invalid sequence.
absl::Status ValidateUtf8(std::string_view text);

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for a stray byte).
inline size_t Utf8Length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xe) return 3;
  if ((lead >> 3) == 0x1e) return 4;
  return 1;
}

// Decodes the code point at text[pos] (text must be valid UTF-8).
char32_t DecodeUtf8(std::string_view text, size_t pos);
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace gp
