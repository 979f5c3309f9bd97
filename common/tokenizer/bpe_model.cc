// BPE: per-character symbols merged lowest rank first (leftmost on ties), as tokenizers does.
#include "common/tokenizer/bpe_model.h"

#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/status.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

std::string OptionalString(const nlohmann::json& node, const std::string& key) {
  return node.contains(key) && node[key].is_string() ? node[key].get<std::string>() : std::string();
}

bool OptionalBool(const nlohmann::json& node, const std::string& key) {
  return node.contains(key) && node[key].is_boolean() && node[key].get<bool>();
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& node,
                                                             const std::string& path) {
  GP_ASSIGN_OR_RETURN(std::string type, StringField(node, path, "type"));
  if (type != "BPE") return UnsupportedComponent(path, node);
  if (node.contains("dropout") && node["dropout"].is_number() &&
      node["dropout"].get<double>() > 0) {
    return TokenizerJsonError(path + ".dropout",
                              "BPE dropout is not supported (encoding must be deterministic)");
  }
  std::unique_ptr<BpeModel> model(new BpeModel());
  if (!node.contains("vocab") || !node["vocab"].is_object()) {
    return TokenizerJsonError(path + ".vocab", "missing or not an object");
  }
  for (const auto& [token, id] : node["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return TokenizerJsonError(absl::StrCat(path, ".vocab[\"", token, "\"]"),
                                "id must be a non-negative integer");
    }
    const int32_t value = id.get<int32_t>();
    model->vocab_[token] = value;
    if (static_cast<size_t>(value) >= model->id_to_token_.size())
      model->id_to_token_.resize(value + 1);
    model->id_to_token_[value] = token;
  }
  model->continuing_subword_prefix_ = OptionalString(node, "continuing_subword_prefix");
  model->end_of_word_suffix_ = OptionalString(node, "end_of_word_suffix");
  model->fuse_unk_ = OptionalBool(node, "fuse_unk");
  model->byte_fallback_ = OptionalBool(node, "byte_fallback");
  model->ignore_merges_ = OptionalBool(node, "ignore_merges");
  const std::string unk = OptionalString(node, "unk_token");
  if (!unk.empty()) {
    auto it = model->vocab_.find(unk);
    if (it == model->vocab_.end()) {
      return TokenizerJsonError(path + ".unk_token",
                                absl::StrCat("'", unk, "' is not in the vocabulary"));
    }
    model->unk_id_ = it->second;
  }
  model->byte_tokens_.assign(256, -1);
  for (int b = 0; b < 256; ++b) {
    auto it = model->vocab_.find(absl::StrFormat("<0x%02X>", b));
    if (it != model->vocab_.end()) model->byte_tokens_[b] = it->second;
  }

  if (!node.contains("merges") || !node["merges"].is_array()) {
    return TokenizerJsonError(path + ".merges", "missing or not an array");
  }
  const auto& merges = node["merges"];
  const size_t prefix_len = model->continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& m = merges[rank];
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return TokenizerJsonError(absl::StrCat(path, ".merges[", rank, "]"),
                                  "expected \"left right\"");
      }
      a = s.substr(0, space), b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>(), b = m[1].get<std::string>();
    } else {
      return TokenizerJsonError(absl::StrCat(path, ".merges[", rank, "]"),
                                "expected \"left right\" or [left, right]");
    }
    auto ia = model->vocab_.find(a), ib = model->vocab_.find(b);
    const std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    auto im = model->vocab_.find(merged);
    if (ia == model->vocab_.end() || ib == model->vocab_.end() || im == model->vocab_.end()) {
      return TokenizerJsonError(
          absl::StrCat(path, ".merges[", rank, "]"),
          absl::StrCat("merge of '", a, "' and '", b, "' uses a token not in the vocabulary"));
    }
    model->merges_.emplace(PairKey(ia->second, ib->second),
                           std::make_pair(static_cast<int32_t>(rank), im->second));
  }
  return model;
}

std::optional<int32_t> BpeModel::TokenToId(const std::string& token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string& BpeModel::IdToToken(int32_t id) const {
  static const std::string empty;
  return id >= 0 && static_cast<size_t>(id) < id_to_token_.size() ? id_to_token_[id] : empty;
}

absl::StatusOr<std::vector<WordToken>> BpeModel::Tokenize(const std::string& word) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) return it->second;
  }
  GP_ASSIGN_OR_RETURN(std::vector<WordToken> tokens, TokenizeUncached(word));
  if (word.size() < 256) {  // long words are rare; keeping them would only grow the cache
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(word, tokens);
  }
  return tokens;
}

absl::StatusOr<std::vector<WordToken>> BpeModel::TokenizeUncached(const std::string& word) const {
  if (word.empty()) return std::vector<WordToken>();
  if (ignore_merges_) {
    auto it = vocab_.find(word);
    if (it != vocab_.end())
      return std::vector<WordToken>{{it->second, 0, static_cast<uint32_t>(word.size())}};
  }
  // Symbols in a doubly linked list over a vector; removed symbols get id -1.
  struct Symbol {
    int32_t id;
    uint32_t begin, end;
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  bool previous_unk = false;
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::min(Utf8Length(static_cast<uint8_t>(word[i])), word.size() - i);
    std::string piece = word.substr(i, n);
    if (i > 0) piece = continuing_subword_prefix_ + piece;
    if (i + n == word.size()) piece += end_of_word_suffix_;
    auto it = vocab_.find(piece);
    const uint32_t b = static_cast<uint32_t>(i), e = static_cast<uint32_t>(i + n);
    if (it != vocab_.end()) {
      symbols.push_back({it->second, b, e, 0, 0});
      previous_unk = false;
    } else {
      bool all_bytes = byte_fallback_;
      for (size_t k = 0; all_bytes && k < n; ++k)
        all_bytes = byte_tokens_[static_cast<uint8_t>(word[i + k])] >= 0;
      if (all_bytes) {
        for (size_t k = 0; k < n; ++k) {
          symbols.push_back({byte_tokens_[static_cast<uint8_t>(word[i + k])],
                             b + static_cast<uint32_t>(k), b + static_cast<uint32_t>(k) + 1, 0, 0});
        }
        previous_unk = false;
      } else if (!unk_id_) {
        return absl::InvalidArgumentError(
            absl::StrCat("character at byte ", i, " of '", word,
                         "' is not in the vocabulary and there is no unk_token"));
      } else if (fuse_unk_ && previous_unk) {
        symbols.back().end = e;
      } else {
        symbols.push_back({*unk_id_, b, e, 0, 0});
        previous_unk = true;
      }
    }
    i += n;
  }
  for (size_t i = 0; i < symbols.size(); ++i) {
    symbols[i].prev = static_cast<int32_t>(i) - 1;
    symbols[i].next = i + 1 < symbols.size() ? static_cast<int32_t>(i + 1) : -1;
  }

  struct Candidate {
    int32_t rank, left, new_id, left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[l.next];
    auto it = merges_.find(PairKey(l.id, r.id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second, l.id, r.id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    if (left.id != c.left_id || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale when either side changed since the candidate was queued.
    auto it = merges_.find(PairKey(left.id, right.id));
    if (right.id != c.right_id || it == merges_.end()) continue;
    left.id = c.new_id;
    left.end = right.end;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    consider(left.prev);
    consider(c.left);
  }
  std::vector<WordToken> out;
  for (int32_t i = 0; i >= 0 && i < static_cast<int32_t>(symbols.size()); i = symbols[i].next) {
    out.push_back({symbols[i].id, symbols[i].begin, symbols[i].end});
  }
  return out;
}

}  // namespace gp
