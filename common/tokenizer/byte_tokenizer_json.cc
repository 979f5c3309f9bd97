// Writes the byte-level tokenizer.json.
#include "common/tokenizer/byte_tokenizer_json.h"

#include "common/tokenizer/byte_level.h"

namespace gp {

nlohmann::json ByteLevelTokenizerJson(const std::vector<std::string>& special_tokens) {
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
            {"merges", nlohmann::json::array()},
            {"byte_fallback", false},
            {"ignore_merges", false}}}};
}

}  // namespace gp
