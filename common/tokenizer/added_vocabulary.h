// Added tokens of tokenizer.json, matched in the raw text before normalization (leftmost,
// then longest, as tokenizers' Aho-Corasick matcher), honoring lstrip, rstrip and
// single_word; the text between matches goes through the normal pipeline.
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
  // normalized=true would need matching on normalized text, which is not supported.
  static absl::StatusOr<AddedVocabulary> FromJson(const nlohmann::json& node, bool has_normalizer);

  std::vector<TextSegment> Split(std::string_view text) const;
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
  std::vector<TrieNode> trie_;
};

}  // namespace gp
