// A byte-level tokenizer.json without merges (ids 0..255 are the bytes, special tokens
// follow), which graphprobe writes for models it builds or trains itself and reads back
// through the same Tokenizer as any Hugging Face file.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace gp {

// `special_tokens` get ids 256, 257, ...; the first is prepended as BOS when encoding with
// special tokens (none when the list is empty).
nlohmann::json ByteLevelTokenizerJson(const std::vector<std::string>& special_tokens);

}  // namespace gp
