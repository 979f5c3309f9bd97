// A byte-level BPE tokenizer.json (ids 0..255 are the bytes, special tokens follow, then
// whole-word tokens built by merges), which graphprobe writes for models it builds or trains
// itself and reads back through the same Tokenizer as any Hugging Face file.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace gp {

// `special_tokens` get ids 256, 257, ...; the first is prepended as BOS when encoding with
// special tokens (none when the list is empty). Each of `whole_words` (raw text such as " A"
// or " ->", which the GPT-2 split pattern keeps in one piece) becomes a single token through a
// chain of merges (its pieces joined left to right). Without whole words
// there are no merges and every byte is a token.
nlohmann::json ByteLevelTokenizerJson(const std::vector<std::string>& special_tokens,
                                      const std::vector<std::string>& whole_words = {});

}  // namespace gp
