// GPT-2's byte <-> printable character table used by ByteLevel pre-tokenizers and decoders.
#pragma once

#include <array>
#include <string>

namespace gp {

// UTF-8 of the character standing for each byte value.
const std::array<std::string, 256>& ByteToUnicode();
// The byte a character stands for, or -1.
int UnicodeToByte(char32_t cp);

}  // namespace gp
