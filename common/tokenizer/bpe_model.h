// The BPE model of tokenizer.json: vocab, merges (both the "a b" and ["a", "b"] formats),
// rank-ordered merging, ignore_merges, byte_fallback (<0xNN> tokens), unk_token with fuse_unk,
// continuing_subword_prefix / end_of_word_suffix, and a cache for repeated words.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

struct WordToken {
  int32_t id;
  uint32_t begin, end;  // byte range within the word
};

class BpeModel {
 public:
  // `node` is tokenizer.json's "model"; errors name `path`.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& node,
                                                            const std::string& path);

  // Tokens of one pre-tokenized word (valid UTF-8). Fails only when a character is not in the
  // vocabulary and the model has neither byte fallback nor an unk token.
  absl::StatusOr<std::vector<WordToken>> Tokenize(const std::string& word) const;

  std::optional<int32_t> TokenToId(const std::string& token) const;
  // Empty string for ids outside the vocabulary.
  const std::string& IdToToken(int32_t id) const;
  size_t vocab_size() const { return id_to_token_.size(); }

 private:
  BpeModel() = default;
  absl::StatusOr<std::vector<WordToken>> TokenizeUncached(const std::string& word) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  std::vector<int32_t> byte_tokens_;  // id of <0xNN>, -1 when absent

  static constexpr size_t kCacheCapacity = 200000;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<WordToken>> cache_;
};

}  // namespace gp
