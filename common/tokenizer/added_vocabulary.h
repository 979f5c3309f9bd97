// Added tokens of tokenizer.json, matched in the raw text before normalization, or after it
// for normalized=true (leftmost, then longest, as tokenizers' Aho-Corasick matchers),
// honoring lstrip, rstrip and single_word; the text between matches goes through the
// normal pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

struct AddedToken {
  int32_t id;
  std::string content;
  bool special, lstrip, rstrip, single_word, normalized;
};

// A stretch of the input: plain text, or one added token (with the span it consumed).
struct TextSegment {
  size_t begin, end;
  int32_t added_token_id;  // -1 for plain text
};

class AddedVocabulary {
 public:
  // `node` is tokenizer.json's "added_tokens". `has_normalizer`: whether tokens with
  // normalized=true are matched after normalization (without one, both stages see the same
  // text and everything is matched raw).
  static absl::StatusOr<AddedVocabulary> FromJson(const nlohmann::json& node, bool has_normalizer);

  // Tokens with normalized=false are matched in the raw text, those with normalized=true
  // (when the tokenizer has a normalizer) in each plain segment after normalization.
  enum class Stage { kRaw, kNormalized };
  std::vector<TextSegment> Split(std::string_view text, Stage stage) const;
  const AddedToken* Find(int32_t id) const;
  const AddedToken* FindContent(const std::string& content) const;

 private:
  struct TrieNode {
    std::unordered_map<uint8_t, int32_t> children;
    int32_t token = -1;  // index into tokens_
  };
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  std::vector<TrieNode> raw_trie_;
  std::vector<TrieNode> normalized_trie_;
};

}  // namespace gp
