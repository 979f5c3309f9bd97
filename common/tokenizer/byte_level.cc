// bytes_to_unicode(): printable Latin-1 bytes map to themselves, the rest to U+0100 onwards.
#include "common/tokenizer/byte_level.h"

#include <unordered_map>

#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

std::array<char32_t, 256> ByteToCodePoint() {
  std::array<char32_t, 256> table{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xa1; b <= 0xac; ++b) printable[b] = true;
  for (int b = 0xae; b <= 0xff; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) table[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return table;
}

}  // namespace

const std::array<std::string, 256>& ByteToUnicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> out;
    const auto cps = ByteToCodePoint();
    for (int b = 0; b < 256; ++b) AppendUtf8(cps[b], &out[b]);
    return out;
  }();
  return table;
}

int UnicodeToByte(char32_t cp) {
  static const std::unordered_map<char32_t, int> inverse = [] {
    std::unordered_map<char32_t, int> out;
    const auto cps = ByteToCodePoint();
    for (int b = 0; b < 256; ++b) out[cps[b]] = b;
    return out;
  }();
  auto it = inverse.find(cp);
  return it == inverse.end() ? -1 : it->second;
}

}  // namespace gp
