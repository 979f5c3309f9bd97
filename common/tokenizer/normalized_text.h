// Text as the pipeline transforms it, with every byte mapped back to the byte range of the
// original input it came from, so each token can report offsets into the caller's text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gp {

struct ByteSpan {
  uint32_t begin = 0, end = 0;
};

struct NormalizedText {
  std::string text;
  std::vector<ByteSpan> origin;  // one per byte of `text`

  // The original text, each byte mapped to the range of the code point that contains it
  // (a token holding part of a character reports the whole character, as tokenizers does).
  static NormalizedText FromOriginal(const std::string& original, uint32_t base_offset);
  // The slice [begin, end) of this text with its origins.
  NormalizedText Slice(size_t begin, size_t end) const;
  // Appends `piece`, every byte of it taking origin `span`.
  void Append(const std::string& piece, ByteSpan span);
  // Original range covered by bytes [begin, end) of `text`.
  ByteSpan Origin(size_t begin, size_t end) const;
};

}  // namespace gp
