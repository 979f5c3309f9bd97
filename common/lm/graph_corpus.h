// Training text for a graph-reading language model: a random graph rendered by the same
// prompt code the probes read (arrow or parents notation, shuffled edge order), followed by a
// question per node, "Parents of C: A, B." with the parents in name order ("none" without
// any). The answers are the only tokens the model is trained to predict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/graph/graph.h"
#include "common/graph/node_names.h"
#include "common/graph/prompt.h"
#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace gp {

// The order an answer lists a node's parents in: by name, or as the graph text lists them (the
// order of their edges: a copy in the parents notation, the "-> C" mentions in turn in the
// arrow notation, with no sorting to learn).
enum class AnswerOrder { kName, kText };
absl::StatusOr<AnswerOrder> ParseAnswerOrder(const std::string& name);  // "name" or "text"
std::string AnswerOrderName(AnswerOrder order);

struct GraphCorpusOptions {
  std::vector<Notation> notations = {Notation::kArrow, Notation::kParents};
  std::vector<GeneratorKind> generators = {GeneratorKind::kDag, GeneratorKind::kTree};
  int min_nodes = 3;
  int max_nodes = 10;
  double expected_degree = 2.0;
  NameScheme names = NameScheme::kLetters;
  // How often the text starts with a "Nodes: ..." header (which probing prompts need when a
  // node has no edges to be mentioned by).
  double node_header_fraction = 0.5;
  AnswerOrder answer_order = AnswerOrder::kName;
  // How often a labels-notation text names each child's parent right after it ("a -> B A",
  // PromptOptions::label_parent_hints), a token the model is trained to predict: answering
  // only at the questions, a model resolves labels there, and the attention among the graph's
  // own mentions never links a child to its parent; predicting the hint makes it resolve the
  // label at the child's mention. Evaluations never draw hints.
  double parent_hint_fraction = 0;

  nlohmann::json ToJson() const;
};

// A notation listed several times is drawn that much more often in training; evaluations ask
// in each notation once, in the order first listed.
std::vector<Notation> DistinctNotations(const std::vector<Notation>& notations);
// The training mix in words: "arrow and parents", or with weights "arrow (3 of 4 texts) and
// parents (1 of 4)".
std::string NotationMixDescription(const std::vector<Notation>& notations);

// The words a graph-text tokenizer should keep whole, so every name, operator and question
// word is one token (with and without its leading space).
std::vector<std::string> GraphTextWords(NameScheme names);

struct GraphText {
  std::string text;
  // Byte ranges [begin, end) of each question's answer (" A, B." after "Parents of C:").
  std::vector<std::pair<uint32_t, uint32_t>> answers;
  // Byte ranges of the parent hints (parent_hint_fraction): trained, but no question's.
  std::vector<std::pair<uint32_t, uint32_t>> hints;
};

// One graph of `num_nodes` nodes drawn from `seed` and written out with its questions, in
// random order. InvalidArgument for sizes the generator or name scheme cannot give.
absl::StatusOr<GraphText> MakeGraphText(const GraphCorpusOptions& options, int num_nodes,
                                        uint64_t seed);

// A batch of tokenized graph texts, right padded: `input_ids` and `attention_mask` I64 [B, T];
// `answer_index` I64 [B, T], the question whose answer token j is, kHintToken for a parent
// hint's token, or -1 for every other token (the first token of a row, BOS, is never an
// answer). The model is trained to predict every token whose index is not -1.
constexpr int64_t kHintToken = -2;
struct GraphTextBatch {
  at::Tensor input_ids, attention_mask, answer_index;
};

// InvalidArgument when an answer or a hint does not begin on a token boundary (a tokenizer
// that merges across ": " and the answer would make the targets ill-defined).
absl::StatusOr<GraphTextBatch> TokenizeGraphTexts(const Tokenizer& tokenizer,
                                                  const std::vector<GraphText>& texts);

}  // namespace gp
