// Added-token matching over a byte trie.
#include "common/tokenizer/added_vocabulary.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

bool IsWordByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || u >= 0x80;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

absl::StatusOr<AddedVocabulary> AddedVocabulary::FromJson(const nlohmann::json& node,
                                                          bool has_normalizer) {
  AddedVocabulary vocab;
  vocab.raw_trie_.emplace_back();
  vocab.normalized_trie_.emplace_back();
  if (node.is_null()) return vocab;
  if (!node.is_array()) return TokenizerJsonError("added_tokens", "not an array");
  for (size_t i = 0; i < node.size(); ++i) {
    const auto& t = node[i];
    const std::string path = absl::StrCat("added_tokens[", i, "]");
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
        !t.contains("content") || !t["content"].is_string()) {
      return TokenizerJsonError(path, "needs an integer 'id' and a string 'content'");
    }
    auto flag = [&](const char* key) {
      return t.contains(key) && t[key].is_boolean() && t[key].get<bool>();
    };
    AddedToken token{t["id"].get<int32_t>(), t["content"].get<std::string>(),
                     flag("special"),        flag("lstrip"),
                     flag("rstrip"),         flag("single_word"),
                     flag("normalized")};
    if (token.content.empty()) return TokenizerJsonError(path + ".content", "is empty");
    vocab.by_id_[token.id] = vocab.tokens_.size();
    vocab.by_content_[token.content] = vocab.tokens_.size();
    std::vector<TrieNode>& trie =
        token.normalized && has_normalizer ? vocab.normalized_trie_ : vocab.raw_trie_;
    int32_t node_index = 0;
    for (char c : token.content) {
      const auto byte = static_cast<uint8_t>(c);
      auto it = trie[node_index].children.find(byte);
      if (it == trie[node_index].children.end()) {
        trie.emplace_back();
        const int32_t child = static_cast<int32_t>(trie.size() - 1);
        trie[node_index].children[byte] = child;
        node_index = child;
      } else {
        node_index = it->second;
      }
    }
    trie[node_index].token = static_cast<int32_t>(vocab.tokens_.size());
    vocab.tokens_.push_back(std::move(token));
  }
  return vocab;
}

std::vector<TextSegment> AddedVocabulary::Split(std::string_view text, Stage stage) const {
  const std::vector<TrieNode>& trie_ = stage == Stage::kRaw ? raw_trie_ : normalized_trie_;
  std::vector<TextSegment> out;
  size_t plain_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // Longest added token starting at `pos` that satisfies single_word.
    int32_t best = -1;
    size_t best_end = 0;
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      auto it = trie_[node].children.find(static_cast<uint8_t>(text[i]));
      if (it == trie_[node].children.end()) break;
      node = it->second;
      const int32_t t = trie_[node].token;
      if (t < 0) continue;
      if (tokens_[t].single_word) {
        const bool left_ok = pos == 0 || !IsWordByte(text[pos - 1]);
        const bool right_ok = i + 1 == text.size() || !IsWordByte(text[i + 1]);
        if (!left_ok || !right_ok) continue;
      }
      best = t;
      best_end = i + 1;
    }
    if (best < 0) {
      pos += Utf8Length(static_cast<uint8_t>(text[pos]));
      continue;
    }
    size_t begin = pos, end = best_end;
    if (tokens_[best].lstrip) {
      while (begin > plain_begin && IsSpace(text[begin - 1])) --begin;
    }
    if (tokens_[best].rstrip) {
      while (end < text.size() && IsSpace(text[end])) ++end;
    }
    if (begin > plain_begin) out.push_back({plain_begin, begin, -1});
    out.push_back({begin, end, tokens_[best].id});
    plain_begin = pos = end;
  }
  if (plain_begin < text.size()) out.push_back({plain_begin, text.size(), -1});
  return out;
}

const AddedToken* AddedVocabulary::Find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::FindContent(const std::string& content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

}  // namespace gp
