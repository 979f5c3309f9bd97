// UTF-8 validation and code point conversion.
#include "common/tokenizer/utf8.h"

#include "absl/strings/str_cat.h"

namespace gp {

absl::Status ValidateUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    size_t n = 0;
    char32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c >> 4) == 0xe) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c >> 3) == 0x1e) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    if (i + n >= text.size()) {
      return absl::InvalidArgumentError(absl::StrCat("truncated UTF-8 sequence at byte ", i));
    }
    for (size_t k = 1; k <= n; ++k) {
      const uint8_t cc = static_cast<uint8_t>(text[i + k]);
      if ((cc >> 6) != 0x2)
        return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    i += n + 1;
  }
  return absl::OkStatus();
}

char32_t DecodeUtf8(std::string_view text, size_t pos) {
  const uint8_t c = static_cast<uint8_t>(text[pos]);
  const size_t n = Utf8Length(c);
  if (n == 1) return c;
  char32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n && pos + k < text.size(); ++k) cp = (cp << 6) | (text[pos + k] & 0x3f);
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace gp
