// NormalizedText: transformed text with per-byte origins.
#include "common/tokenizer/normalized_text.h"

#include <algorithm>

#include "common/tokenizer/utf8.h"

namespace gp {

NormalizedText NormalizedText::FromOriginal(const std::string& original, uint32_t base_offset) {
  NormalizedText out;
  out.text = original;
  out.origin.resize(original.size());
  for (size_t i = 0; i < original.size();) {
    const size_t n = std::min(Utf8Length(static_cast<uint8_t>(original[i])), original.size() - i);
    const ByteSpan span{static_cast<uint32_t>(base_offset + i),
                        static_cast<uint32_t>(base_offset + i + n)};
    for (size_t k = 0; k < n; ++k) out.origin[i + k] = span;
    i += n;
  }
  return out;
}

NormalizedText NormalizedText::Slice(size_t begin, size_t end) const {
  NormalizedText out;
  out.text = text.substr(begin, end - begin);
  out.origin.assign(origin.begin() + begin, origin.begin() + end);
  return out;
}

void NormalizedText::Append(const std::string& piece, ByteSpan span) {
  text += piece;
  origin.insert(origin.end(), piece.size(), span);
}

ByteSpan NormalizedText::Origin(size_t begin, size_t end) const {
  if (begin >= end || begin >= origin.size()) return {};
  ByteSpan span = origin[begin];
  for (size_t i = begin + 1; i < end; ++i) {
    span.begin = std::min(span.begin, origin[i].begin);
    span.end = std::max(span.end, origin[i].end);
  }
  return span;
}

}  // namespace gp
