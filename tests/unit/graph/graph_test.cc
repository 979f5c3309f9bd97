// Generators, names, orderings and exact prompt strings per notation.
#include "common/graph/graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/graph/node_names.h"
#include "common/graph/prompt.h"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

bool IsAcyclic(const Graph& g) {
  std::vector<int> indegree(g.num_nodes, 0);
  for (const auto& [p, c] : g.edges) ++indegree[c];
  std::vector<int> ready;
  for (int i = 0; i < g.num_nodes; ++i) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  int seen = 0;
  while (!ready.empty()) {
    const int n = ready.back();
    ready.pop_back();
    ++seen;
    for (int c : g.Children(n)) {
      if (--indegree[c] == 0) ready.push_back(c);
    }
  }
  return seen == g.num_nodes;
}

TEST(GeneratorTest, DagsAreAcyclicDeterministicAndHitTheExpectedDegree) {
  GeneratorOptions options;
  options.num_nodes = 10;
  options.expected_degree = 3.0;
  double edges = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto g = GenerateGraph(options, seed);
    ASSERT_TRUE(g.ok());
    EXPECT_TRUE(IsAcyclic(*g));
    edges += g->edges.size();
  }
  // Mean degree = 2 * edges / nodes.
  EXPECT_NEAR(2.0 * edges / 200 / 10, 3.0, 0.3);
  EXPECT_EQ(GenerateGraph(options, 7)->edges, GenerateGraph(options, 7)->edges);
  EXPECT_NE(GenerateGraph(options, 7)->edges, GenerateGraph(options, 8)->edges);
}

TEST(GeneratorTest, TreesForestsAndCyclicGraphs) {
  GeneratorOptions tree{GeneratorKind::kTree, 12};
  auto t = GenerateGraph(tree, 3);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->edges.size(), 11u);
  int roots = 0;
  for (int i = 0; i < 12; ++i) {
    EXPECT_LE(t->Parents(i).size(), 1u);
    roots += t->Parents(i).empty();
  }
  EXPECT_EQ(roots, 1);
  EXPECT_TRUE(IsAcyclic(*t));
  GeneratorOptions forest{GeneratorKind::kForest, 12};
  forest.num_trees = 3;
  EXPECT_EQ(GenerateGraph(forest, 3)->edges.size(), 9u);

  GeneratorOptions er{GeneratorKind::kDirectedErdosRenyi, 8};
  er.edge_probability = 0.5;
  bool any_cycle = false;
  for (uint64_t seed = 0; seed < 20; ++seed) any_cycle |= !IsAcyclic(*GenerateGraph(er, seed));
  EXPECT_TRUE(any_cycle);
}

TEST(GeneratorTest, BadOptionsAreErrors) {
  EXPECT_TRUE(HasStatus(GenerateGraph({GeneratorKind::kDag, 1}, 0),
                        absl::StatusCode::kInvalidArgument, "graph size 1 outside [2, 64]"));
  EXPECT_TRUE(HasStatus(GenerateGraph({GeneratorKind::kDag, 65}, 0),
                        absl::StatusCode::kInvalidArgument, "graph size 65 outside [2, 64]"));
  GeneratorOptions p{GeneratorKind::kDag, 5};
  p.edge_probability = 1.5;
  EXPECT_TRUE(HasStatus(GenerateGraph(p, 0), absl::StatusCode::kInvalidArgument,
                        "edge probability 1.5 outside [0, 1]"));
  p.edge_probability = std::nan("");
  EXPECT_TRUE(HasStatus(GenerateGraph(p, 0), absl::StatusCode::kInvalidArgument,
                        "edge probability nan outside [0, 1]"));
  p.edge_probability = -1;  // from the expected degree
  p.expected_degree = -1;
  EXPECT_TRUE(HasStatus(GenerateGraph(p, 0), absl::StatusCode::kInvalidArgument,
                        "expected_degree -1: expected >= 0"));
  EXPECT_TRUE(GenerateGraph({GeneratorKind::kDag, 64}, 0).ok());
  EXPECT_TRUE(HasStatus(ParseGeneratorKind("random"), absl::StatusCode::kInvalidArgument,
                        "unknown generator 'random'"));
}

TEST(NamesTest, DistinctShuffledAndEnoughForSixtyFourNodes) {
  for (NameScheme scheme : {NameScheme::kLetters, NameScheme::kIntegers, NameScheme::kWords}) {
    auto names = DrawNodeNames(scheme, 64, 1);
    ASSERT_TRUE(names.ok()) << NameSchemeName(scheme);
    EXPECT_EQ(std::set<std::string>(names->begin(), names->end()).size(), 64u);
  }
  auto a = *DrawNodeNames(NameScheme::kLetters, 5, 1),
       b = *DrawNodeNames(NameScheme::kLetters, 5, 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, *DrawNodeNames(NameScheme::kLetters, 5, 1));
  for (const auto& n : a) EXPECT_EQ(n.size(), 1u);  // small graphs keep single letters
}

class PromptTest : public ::testing::Test {
 protected:
  // 0 -> 1, 0 -> 2, 1 -> 2; node 3 isolated.
  Graph graph_{4, {{0, 1}, {0, 2}, {1, 2}}};
  std::vector<std::string> names_{"A", "B", "C", "D"};
  Ordering canonical_ = MakeOrderings(graph_, 1, 0)[0];
  std::string Render(const PromptOptions& options, const Ordering& ordering) {
    auto prompt = RenderPrompt(graph_, names_, options, ordering);
    EXPECT_TRUE(prompt.ok()) << prompt.status();
    return prompt->text;
  }
};

TEST_F(PromptTest, EachNotationExactly) {
  PromptOptions o;
  EXPECT_EQ(Render(o, canonical_), "A -> B, A -> C, B -> C");
  o.notation = Notation::kTo;
  o.separator = Separator::kNewline;
  EXPECT_EQ(Render(o, canonical_), "A to B\nA to C\nB to C");
  o = PromptOptions{Notation::kParents};
  EXPECT_EQ(Render(o, canonical_),
            "Parents of A: none. Parents of B: A. Parents of C: A, B. Parents of D: none.");
  o = PromptOptions{Notation::kAdjacency};
  EXPECT_EQ(Render(o, canonical_), "A: B, C; B: C; C: none; D: none");
  o = PromptOptions{Notation::kArrow, Separator::kComma, true, "Here is a graph.", "Parents of C:"};
  EXPECT_EQ(Render(o, canonical_),
            "Here is a graph.\nNodes: A, B, C, D.\nA -> B, A -> C, B -> C\nParents of C:");
}

TEST_F(PromptTest, LabelledEdgesPairParentsAndChildrenOnlyThroughTheirLabels) {
  PromptOptions o{Notation::kLabels};
  EXPECT_EQ(Render(o, canonical_), "a = A, b = A, c = B. a -> B, b -> C, c -> C");
  o.separator = Separator::kNewline;
  EXPECT_EQ(Render(o, canonical_), "a = A\nb = A\nc = B\na -> B\nb -> C\nc -> C");
  // The children's side follows the children's names, not the edge list: with node 2 named
  // "B" its two edges come first, in the edge list's order (Neighbors' order).
  auto prompt =
      RenderPrompt(graph_, {"D", "C", "B", "A"}, PromptOptions{Notation::kLabels}, canonical_);
  ASSERT_TRUE(prompt.ok());
  EXPECT_EQ(prompt->text, "a = D, b = D, c = C. b -> B, c -> B, a -> C");
  EXPECT_EQ(Neighbors(graph_, canonical_, 2, /*parents=*/true), (std::vector<int>{0, 1}));
  ASSERT_EQ(prompt->mentions[0].size(), 2u);  // D: parent of two edges
  EXPECT_EQ(prompt->text.substr(prompt->mentions[2][0].begin, 1), "B");
  EXPECT_EQ(prompt->mentions[3].size(), 0u);  // isolated, no header
  // Labels go on past "z": aa, ab, ...
  Graph star{29, {}};
  for (int child = 1; child < 29; ++child) star.edges.push_back({0, child});
  std::vector<std::string> names;
  for (int i = 0; i < 29; ++i) names.push_back(absl::StrCat("N", 100 + i));
  auto many =
      RenderPrompt(star, names, PromptOptions{Notation::kLabels}, MakeOrderings(star, 1, 0)[0]);
  ASSERT_TRUE(many.ok());
  EXPECT_NE(many->text.find(", z = N100, aa = N100, ab = N100. a -> N101"), std::string::npos)
      << many->text;
  EXPECT_EQ(*ParseNotation("labels"), Notation::kLabels);
  EXPECT_EQ(NotationName(Notation::kLabels), "labels");
  // Training's parent hints: each child followed by its parent, spans kept apart from the
  // mentions (a hint is a target, not part of the graph's text).
  o = PromptOptions{Notation::kLabels};
  o.label_parent_hints = true;
  auto hinted = RenderPrompt(graph_, {"A", "B", "C", "D"}, o, canonical_);
  ASSERT_TRUE(hinted.ok());
  EXPECT_EQ(hinted->text, "a = A, b = A, c = B. a -> B A, b -> C A, c -> C B");
  ASSERT_EQ(hinted->parent_hints.size(), 3u);
  EXPECT_EQ(hinted->text.substr(hinted->parent_hints[2].begin,
                                hinted->parent_hints[2].end - hinted->parent_hints[2].begin),
            " B");
  EXPECT_EQ(hinted->mentions[0].size(), 2u);  // A's definitions only, not its hints
  EXPECT_TRUE(
      RenderPrompt(graph_, {"A", "B", "C", "D"}, PromptOptions{Notation::kLabels}, canonical_)
          ->parent_hints.empty());
}

TEST_F(PromptTest, MentionsAreTheNamesByteRanges) {
  auto prompt = RenderPrompt(graph_, {"apple", "B", "12", "D"}, PromptOptions{Notation::kParents},
                             canonical_);
  ASSERT_TRUE(prompt.ok());
  for (size_t node = 0; node < 4; ++node) {
    for (const auto& m : prompt->mentions[node]) {
      EXPECT_EQ(prompt->text.substr(m.begin, m.end - m.begin),
                std::vector<std::string>({"apple", "B", "12", "D"})[node]);
    }
  }
  EXPECT_EQ(prompt->mentions[0].size(), 3u);  // its own sentence, and parent of B and C
  EXPECT_EQ(prompt->mentions[3].size(), 1u);
}

TEST_F(PromptTest, OrderingsPermuteEdgesAndNodesButNotIdentities) {
  auto orderings = MakeOrderings(graph_, 4, 9);
  ASSERT_EQ(orderings.size(), 4u);
  EXPECT_EQ(orderings[0].edge_order, (std::vector<int>{0, 1, 2}));
  std::set<std::string> texts;
  for (const auto& o : orderings) {
    const std::string text = Render(PromptOptions{Notation::kParents}, o);
    texts.insert(text);
    // Same facts in any order: node C's parents are A and B.
    EXPECT_TRUE(text.find("Parents of C: A, B.") != std::string::npos ||
                text.find("Parents of C: B, A.") != std::string::npos)
        << text;
  }
  EXPECT_GT(texts.size(), 1u);
  Ordering bad = canonical_;
  bad.node_order = {0, 0, 1, 2};
  EXPECT_TRUE(HasStatus(RenderPrompt(graph_, names_, PromptOptions{}, bad),
                        absl::StatusCode::kInvalidArgument, "not a permutation"));
  EXPECT_TRUE(HasStatus(RenderPrompt(graph_, {"A"}, PromptOptions{}, canonical_),
                        absl::StatusCode::kInvalidArgument, "1 names for 4 nodes"));
}

}  // namespace
}  // namespace gp
