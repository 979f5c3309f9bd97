// Tokenizer components on small hand-written tokenizer.json files: BPE options, added-token
// flags, split behaviors, Metaspace, decoders, and malformed files. Plus defined behaviour on
// invalid UTF-8, empty and 1 MB inputs with the real tokenizers.
#include "common/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "common/tokenizer/decoder.h"
#include "nlohmann/json.hpp"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

using nlohmann::json;

// A character-level BPE over a few letters, merges "a b" -> "ab", "ab c" -> "abc".
json TinyBpe() {
  return json::parse(R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "<unk>": 5, " ": 6,
                                       "<0x21>": 7, "d": 8, "bc": 9},
              "merges": ["a b", ["ab", "c"], "b c"], "unk_token": "<unk>"},
    "added_tokens": []
  })");
}

Encoding Encode(const json& j, const std::string& text, bool special = true) {
  auto tokenizer = Tokenizer::FromJson(j);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto encoding = tokenizer->Encode(text, special);
  EXPECT_TRUE(encoding.ok()) << encoding.status();
  return *encoding;
}

std::string Error(const json& j) {
  auto tokenizer = Tokenizer::FromJson(j);
  EXPECT_FALSE(tokenizer.ok());
  return tokenizer.ok() ? "" : std::string(tokenizer.status().message());
}

TEST(BpeTest, MergesByRankInBothFormats) {
  Encoding e = Encode(TinyBpe(), "abcab");
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"abc", "ab"}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 3}, {3, 5}}));
  // "b c" ranks after "a b": in "abc" the a-b merge wins, then ab-c.
  EXPECT_EQ(Encode(TinyBpe(), "bc").tokens, (std::vector<std::string>{"bc"}));
}

TEST(BpeTest, UnknownCharactersFuseOrNotAndByteFallback) {
  json j = TinyBpe();
  EXPECT_EQ(Encode(j, "a??b").tokens, (std::vector<std::string>{"a", "<unk>", "<unk>", "b"}));
  j["model"]["fuse_unk"] = true;
  Encoding fused = Encode(j, "a??b");
  EXPECT_EQ(fused.tokens, (std::vector<std::string>{"a", "<unk>", "b"}));
  EXPECT_EQ(fused.offsets[1], (std::pair<uint32_t, uint32_t>{1, 3}));
  j["model"]["byte_fallback"] = true;  // '!' has <0x21>; '?' has no byte token and stays unk
  EXPECT_EQ(Encode(j, "!?").tokens, (std::vector<std::string>{"<0x21>", "<unk>"}));
  j["model"].erase("unk_token");
  auto tokenizer = Tokenizer::FromJson(j);
  ASSERT_TRUE(tokenizer.ok());
  EXPECT_TRUE(HasStatus(tokenizer->Encode("?", false), absl::StatusCode::kInvalidArgument,
                        "byte 0 of '?' is not in the vocabulary"));
}

TEST(BpeTest, IgnoreMergesPrefixAndSuffix) {
  json j = TinyBpe();
  j["model"]["vocab"]["abca"] = 10;
  EXPECT_EQ(Encode(j, "abca").tokens, (std::vector<std::string>{"abc", "a"}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(Encode(j, "abca").tokens, (std::vector<std::string>{"abca"}));

  json w = json::parse(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "##b": 1, "##c</w>": 2, "a##b": 3, "ab": 4},
      "merges": [], "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>"}})");
  EXPECT_EQ(Encode(w, "abc").tokens, (std::vector<std::string>{"a", "##b", "##c</w>"}));
  w["model"]["merges"] = {"a ##b"};  // merged token drops the right side's prefix: "ab"
  EXPECT_EQ(Encode(w, "abc").tokens, (std::vector<std::string>{"ab", "##c</w>"}));
}

TEST(AddedTokensTest, LeftmostLongestWithStripAndSingleWord) {
  json j = TinyBpe();
  j["added_tokens"] = json::parse(R"([
    {"id": 20, "content": "<x>", "special": true},
    {"id": 21, "content": "<x><y>", "special": true},
    {"id": 22, "content": "[L]", "lstrip": true, "rstrip": true},
    {"id": 23, "content": "cab", "single_word": true}])");
  Encoding e = Encode(j, "a<x><y>b<x>");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 21, 1, 20}));
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{1, 7}));
  Encoding stripped = Encode(j, "a  [L]  b");
  EXPECT_EQ(stripped.ids, (std::vector<int32_t>{0, 22, 1}));
  EXPECT_EQ(stripped.offsets[1], (std::pair<uint32_t, uint32_t>{1, 8}));
  EXPECT_EQ(Encode(j, "cab").ids, (std::vector<int32_t>{23}));
  EXPECT_EQ(Encode(j, "acab").tokens,
            (std::vector<std::string>{"a", "c", "ab"}));  // not a word of its own
}

TEST(AddedTokensTest, NormalizedTokensMatchAfterNormalization) {
  json j = TinyBpe();
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}};
  j["added_tokens"] = json::parse(R"([{"id": 30, "content": "_c", "normalized": true},
                                      {"id": 31, "content": " b", "normalized": false}])");
  Encoding e = Encode(j, "a c b");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, 30, 31}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}, {1, 3}, {3, 5}}));
}

TEST(PreTokenizerTest, SplitBehaviors) {
  auto tokens_with = [](const std::string& behavior, bool invert) {
    json j = TinyBpe();
    j["pre_tokenizer"] = {{"type", "Split"},
                          {"pattern", {{"String", " "}}},
                          {"behavior", behavior},
                          {"invert", invert}};
    return Encode(j, "ab c").tokens;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(tokens_with("Isolated", false), (V{"ab", " ", "c"}));
  EXPECT_EQ(tokens_with("Removed", false), (V{"ab", "c"}));
  EXPECT_EQ(tokens_with("MergedWithPrevious", false),
            (V{"ab", " ", "c"}));  // "ab " has no merge for ' '
  EXPECT_EQ(tokens_with("MergedWithNext", false), (V{"ab", " ", "c"}));
  json regex = TinyBpe();
  regex["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "\\p{L}"}}}, {"behavior", "Isolated"}};
  EXPECT_EQ(Encode(regex, "abc").tokens, (V{"a", "b", "c"}));  // split first, so no merges
}

TEST(PreTokenizerTest, MetaspaceAndDecoder) {
  json j = json::parse(
      R"({"model": {"type": "BPE", "vocab": {"\u2581a": 0, "\u2581": 1, "a": 2, "b": 3, "\u2581b": 4},
      "merges": ["\u2581 a", "\u2581 b"]},
      "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
      "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true}})");
  auto tokenizer = Tokenizer::FromJson(j);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto e = tokenizer->Encode("a b", true);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->tokens, (std::vector<std::string>{"\u2581a", "\u2581b"}));
  EXPECT_EQ(e->offsets, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 1}, {1, 3}}));
  EXPECT_EQ(tokenizer->Decode(e->ids, false), "a b");
}

TEST(DecoderTest, LossyUtf8ReplacesInvalidBytes) {
  EXPECT_EQ(LossyUtf8("a\xff"
                      "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(LossyUtf8("\xe6\x9d"), "\xef\xbf\xbd");  // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(LossyUtf8("\xe6\x9d\xb1"), "\xe6\x9d\xb1");
}

TEST(MalformedTokenizerTest, ErrorsNameTheJsonPath) {
  json j = TinyBpe();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}};
  EXPECT_EQ(Error(j),
            "tokenizer.json: pre_tokenizer.pretokenizers[0]: unsupported type \"Whitespace\"");
  j = TinyBpe();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(Error(j).find("model: unsupported type \"Unigram\""), std::string::npos);
  j = TinyBpe();
  j["model"]["merges"][0] = "a b c";
  EXPECT_NE(Error(j).find("model.merges[0]: expected \"left right\""), std::string::npos);
  j = TinyBpe();
  j["model"]["merges"].push_back("c d");  // "cd" is not in the vocabulary
  EXPECT_NE(Error(j).find("model.merges[3]"), std::string::npos);
  j = TinyBpe();
  j["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "(unclosed"}}}, {"content", ""}};
  EXPECT_NE(Error(j).find("normalizer.pattern.Regex"), std::string::npos);
  j = TinyBpe();
  j["model"]["unk_token"] = "<missing>";
  EXPECT_NE(Error(j).find("model.unk_token"), std::string::npos);
  EXPECT_NE(Error(json::array()).find("not a JSON object"), std::string::npos);
  auto missing = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(InputTest, InvalidUtf8IsAnErrorWithTheOffsetEmptyIsEmpty) {
  auto tokenizer = Tokenizer::FromJson(TinyBpe());
  ASSERT_TRUE(tokenizer.ok());
  auto bad = tokenizer->Encode("ab\xc3(", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid UTF-8 at byte 2");
  EXPECT_TRUE(HasStatus(tokenizer->Encode("a\xed\xa0\x80", true),
                        absl::StatusCode::kInvalidArgument,
                        "invalid UTF-8 at byte 1"));  // a UTF-16 surrogate
  EXPECT_TRUE(HasStatus(tokenizer->Encode("\xf0\x9f", true), absl::StatusCode::kInvalidArgument,
                        "truncated UTF-8 sequence at byte 0"));  // truncated
  auto empty = tokenizer->Encode("", true);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ids.empty());
}

}  // namespace
}  // namespace gp

namespace gp {
namespace {

// NFC offsets follow tokenizers' NormalizedString alignment: a character composed from several
// original ones takes the origin of the first of them only ("e" + U+0301 -> "é" reports the
// "e"), a character NFC leaves alone keeps its own bytes, a blocked mark its own.
TEST(NormalizerTest, NfcCompositionAlignsLikeTokenizersNormalizedString) {
  json j = json::parse(R"({
    "normalizer": {"type": "NFC"},
    "model": {"type": "BPE", "vocab": {"a": 0, "x": 1, "\u00e9": 2, "e": 3, "\u0301": 4,
                                       "\u00c5": 5, "<unk>": 6},
              "merges": [], "unk_token": "<unk>"},
    "added_tokens": []
  })");
  using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;
  // "a" "e" U+0301 "x": bytes 0, 1, 2-3, 4.
  Encoding composed = Encode(j, "ae\xcc\x81x");
  EXPECT_EQ(composed.tokens, (std::vector<std::string>{"a", "\xc3\xa9", "x"}));
  EXPECT_EQ(composed.offsets, (Offsets{{0, 1}, {1, 2}, {4, 5}}));
  // Already composed: the whole character.
  EXPECT_EQ(Encode(j, "a\xc3\xa9x").offsets, (Offsets{{0, 1}, {1, 3}, {3, 4}}));
  // A second acute cannot compose with "é": it stays, with its own bytes.
  Encoding twice = Encode(j, "e\xcc\x81\xcc\x81");
  EXPECT_EQ(twice.tokens, (std::vector<std::string>{"\xc3\xa9", "\xcc\x81"}));
  EXPECT_EQ(twice.offsets, (Offsets{{0, 1}, {3, 5}}));
  // A singleton decomposition (ANGSTROM SIGN -> A WITH RING) replaces one character.
  Encoding angstrom = Encode(j,
                             "\xe2\x84\xab"
                             "a");
  EXPECT_EQ(angstrom.tokens, (std::vector<std::string>{"\xc3\x85", "a"}));
  EXPECT_EQ(angstrom.offsets, (Offsets{{0, 3}, {3, 4}}));
}

}  // namespace
}  // namespace gp
