// Writes the byte-level tokenizer.json.
#include "common/tokenizer/byte_tokenizer_json.h"

#include <map>
#include <utility>

#include "common/tokenizer/byte_level.h"

namespace gp {

namespace {

// Adds merges to `vocab` and `merges` until each word is one token, giving new tokens the ids
// after `next_id`. Each word is first split the way the merges so far split it (BPE applies
// lower ranks first, so a shorter word's merges may already claim part of it, as "Parents"
// does in " Parents"); then its pieces are joined left to right by new merges, which rank
// last and so never change how an earlier word is split.
void AddWholeWords(const std::vector<std::string>& words, int next_id, nlohmann::json& vocab,
                   nlohmann::json& merges) {
  const auto& table = ByteToUnicode();
  std::map<std::pair<std::string, std::string>, size_t> rank;
  for (const std::string& word : words) {
    std::vector<std::string> pieces;
    for (unsigned char byte : word) pieces.push_back(table[byte]);
    while (pieces.size() > 1) {  // BPE with the merges so far
      size_t best = pieces.size();
      for (size_t i = 0; i + 1 < pieces.size(); ++i) {
        auto it = rank.find({pieces[i], pieces[i + 1]});
        if (it != rank.end() &&
            (best == pieces.size() || it->second < rank[{pieces[best], pieces[best + 1]}])) {
          best = i;
        }
      }
      if (best == pieces.size()) break;
      pieces[best] += pieces[best + 1];
      pieces.erase(pieces.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
    while (pieces.size() > 1) {
      const std::string merged = pieces[0] + pieces[1];
      rank.emplace(std::make_pair(pieces[0], pieces[1]), rank.size());
      merges.push_back(pieces[0] + " " + pieces[1]);
      if (!vocab.contains(merged)) vocab[merged] = next_id++;
      pieces[1] = merged;
      pieces.erase(pieces.begin());
    }
  }
}

}  // namespace

nlohmann::json ByteLevelTokenizerJson(const std::vector<std::string>& special_tokens,
                                      const std::vector<std::string>& whole_words) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& table = ByteToUnicode();
  for (int b = 0; b < 256; ++b) vocab[table[b]] = b;
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    const int id = 256 + static_cast<int>(i);
    vocab[special_tokens[i]] = id;
    added.push_back({{"id", id},
                     {"content", special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  nlohmann::json merges = nlohmann::json::array();
  AddWholeWords(whole_words, 256 + static_cast<int>(special_tokens.size()), vocab, merges);
  nlohmann::json post_processor = nullptr;
  if (!special_tokens.empty()) {
    const std::string& bos = special_tokens[0];
    post_processor = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair", nlohmann::json::array()},
        {"special_tokens", {{bos, {{"id", bos}, {"ids", {256}}, {"tokens", {bos}}}}}}};
  }
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", false},
            {"use_regex", true}}},
          {"post_processor", post_processor},
          {"decoder",
           {{"type", "ByteLevel"},
            {"add_prefix_space", false},
            {"trim_offsets", false},
            {"use_regex", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"vocab", vocab},
            {"merges", merges},
            {"byte_fallback", false},
            {"ignore_merges", false}}}};
}

}  // namespace gp
