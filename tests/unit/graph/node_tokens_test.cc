// Node mentions mapped to tokens with the three real tokenizers, for letters, integers and
// words: every mention gets the tokens that spell it (with a leading space when the
// tokenizer glues one on), and nothing else.
#include "common/graph/node_tokens.h"

#include <gtest/gtest.h>

#include "common/graph/node_names.h"
#include "common/tokenizer/tokenizer.h"
#include "tests/unit/tokenizer/real_tokenizers.h"

namespace gp {
namespace {

using testing::RealTokenizer;

TEST(NodeTokensTest, SharedTokensAreReportedNotGuessed) {
  Prompt prompt{"AB -> C", {{{0, 1}}, {{1, 2}}, {{6, 7}}}};
  // One token "AB" covers two names.
  NodeTokens tokens = MapMentionsToTokens(prompt, {{0, 2}, {2, 5}, {5, 7}});
  EXPECT_EQ(tokens.shared_tokens, (std::vector<int>{0}));
  EXPECT_TRUE(tokens.mentions[0][0].empty());
  EXPECT_EQ(tokens.mentions[2][0], (std::vector<int>{2}));  // " C" with its leading space
}

class RealTokenizerSpansTest
    : public ::testing::TestWithParam<std::tuple<std::string, NameScheme>> {};

TEST_P(RealTokenizerSpansTest, EveryMentionMapsToTheTokensThatSpellIt) {
  const auto& [key, scheme] = GetParam();
  GeneratorOptions options{GeneratorKind::kDag, 12};
  auto graph = GenerateGraph(options, 5);
  auto names = DrawNodeNames(scheme, 12, 5);
  ASSERT_TRUE(graph.ok() && names.ok());
  if (scheme == NameScheme::kIntegers) (*names)[0] = "1234";  // a multi-digit name
  for (Notation notation : {Notation::kArrow, Notation::kParents}) {
    PromptOptions prompt_options{notation};
    prompt_options.node_header = true;
    auto prompt = RenderPrompt(*graph, *names, prompt_options, MakeOrderings(*graph, 1, 0)[0]);
    ASSERT_TRUE(prompt.ok());
    auto encoding = RealTokenizer(key).Encode(prompt->text, /*add_special_tokens=*/true);
    ASSERT_TRUE(encoding.ok());
    NodeTokens tokens = MapMentionsToTokens(*prompt, encoding->offsets);
    EXPECT_TRUE(tokens.shared_tokens.empty()) << prompt->text;
    for (int node = 0; node < 12; ++node) {
      for (size_t m = 0; m < prompt->mentions[node].size(); ++m) {
        const auto& span = prompt->mentions[node][m];
        const auto& ids = tokens.mentions[node][m];
        ASSERT_FALSE(ids.empty());
        // The tokens cover the name and at most one extra leading space.
        const uint32_t begin = encoding->offsets[ids.front()].first,
                       end = encoding->offsets[ids.back()].second;
        EXPECT_LE(begin, span.begin);
        EXPECT_GE(end, span.end);
        const std::string covered = prompt->text.substr(begin, end - begin);
        EXPECT_TRUE(covered == (*names)[node] || covered == " " + (*names)[node])
            << key << ": '" << covered << "'";
      }
    }
    if (scheme == NameScheme::kIntegers && key == "qwen3") {
      // Qwen splits digits one by one: "1234" is four tokens.
      EXPECT_EQ(tokens.mentions[0][0].size(), 4u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, RealTokenizerSpansTest,
                         ::testing::Combine(::testing::Values("llama3", "qwen3", "gemma3"),
                                            ::testing::Values(NameScheme::kLetters,
                                                              NameScheme::kIntegers,
                                                              NameScheme::kWords)));

}  // namespace
}  // namespace gp
