// The three real tokenizers (Llama 3, Qwen, Gemma) against Hugging Face tokenizers 0.23:
// ids, tokens, byte offsets and decoded text for all 90 golden cases.
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/tokenizer/tokenizer.h"
#include "tests/test_data.h"
#include "tests/unit/tokenizer/real_tokenizers.h"

namespace gp {
namespace {

using testing::RealTokenizer;

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, IdsTokensOffsetsAndDecodingMatchTokenizers) {
  auto golden = ReadJsonFile(std::string(GP_TEST_DATA) + "/hf-reference/tokenizer_golden.json");
  ASSERT_TRUE(golden.ok()) << golden.status();
  const Tokenizer& tokenizer = RealTokenizer(GetParam());
  const auto& cases = (*golden)["cases"][GetParam()];
  ASSERT_EQ(cases.size(), 30u);
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const bool special = c["add_special_tokens"];
    SCOPED_TRACE("text: '" + text + "' special=" + (special ? "true" : "false"));
    auto encoding = tokenizer.Encode(text, special);
    ASSERT_TRUE(encoding.ok()) << encoding.status();
    EXPECT_EQ(encoding->ids, c["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(encoding->tokens, c["tokens"].get<std::vector<std::string>>());
    std::vector<std::pair<uint32_t, uint32_t>> offsets;
    for (const auto& o : c["byte_offsets"]) offsets.emplace_back(o[0], o[1]);
    EXPECT_EQ(encoding->offsets, offsets);
    EXPECT_EQ(tokenizer.Decode(encoding->ids, /*skip_special_tokens=*/false),
              c["decoded"].get<std::string>());
  }
}

// A 1 MB text of every golden string repeated: defined output, offsets that walk forward
// through the text, and (byte-level BPE without normalization) an exact round trip.
TEST_P(GoldenTest, OneMegabyteInput) {
  auto golden = ReadJsonFile(std::string(GP_TEST_DATA) + "/hf-reference/tokenizer_golden.json");
  ASSERT_TRUE(golden.ok());
  std::string text;
  while (text.size() < (1 << 20)) {
    for (const auto& s : (*golden)["strings"]) text += s.get<std::string>() + "\n";
  }
  const Tokenizer& tokenizer = RealTokenizer(GetParam());
  auto encoding = tokenizer.Encode(text, /*add_special_tokens=*/false);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  EXPECT_GT(encoding->ids.size(), text.size() / 8);
  uint32_t previous_begin = 0;
  for (const auto& [begin, end] : encoding->offsets) {
    ASSERT_LE(begin, end);
    ASSERT_LE(end, text.size());
    ASSERT_GE(begin, previous_begin);
    previous_begin = begin;
  }
  if (GetParam() == "llama3") EXPECT_EQ(tokenizer.Decode(encoding->ids, false), text);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTest,
                         ::testing::Values("llama3", "qwen3", "gemma3"));

}  // namespace
}  // namespace gp
