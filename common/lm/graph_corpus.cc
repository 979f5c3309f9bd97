// Graph text with questions, and its tokenization into answer-masked batches.
#include "common/lm/graph_corpus.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/status.h"
#include "common/graph/random.h"

namespace gp {

absl::StatusOr<AnswerOrder> ParseAnswerOrder(const std::string& name) {
  if (name == "name") return AnswerOrder::kName;
  if (name == "text") return AnswerOrder::kText;
  return absl::InvalidArgumentError(
      absl::StrCat("answer order '", name, "': expected name or text"));
}

std::string AnswerOrderName(AnswerOrder order) {
  return order == AnswerOrder::kName ? "name" : "text";
}

nlohmann::json GraphCorpusOptions::ToJson() const {
  nlohmann::json notation_names = nlohmann::json::array(),
                 generator_names = nlohmann::json::array();
  for (Notation n : notations) notation_names.push_back(NotationName(n));
  for (GeneratorKind g : generators) generator_names.push_back(GeneratorKindName(g));
  return {{"notations", notation_names},
          {"generators", generator_names},
          {"min_nodes", min_nodes},
          {"max_nodes", max_nodes},
          {"expected_degree", expected_degree},
          {"names", NameSchemeName(names)},
          {"node_header_fraction", node_header_fraction},
          {"answer_order", AnswerOrderName(answer_order)},
          {"parent_hint_fraction", parent_hint_fraction}};
}

std::vector<std::string> GraphTextWords(NameScheme names) {
  std::vector<std::string> words = {" ->", " to", "Parents", " Parents", " of", " none", "Nodes"};
  // Graphs of up to kMaxNodes nodes draw letters and integers from the front of the pool.
  constexpr size_t kWholeNames = 100;
  const auto& pool = NamePool(names);
  for (size_t i = 0; i < pool.size() && i < kWholeNames; ++i) {
    const std::string& name = pool[i];
    words.push_back(name);
    words.push_back(" " + name);
    words.push_back(" " + name + ":");  // "Parents of Q:", where the answer follows
    words.push_back(" -> " + name);     // the child of an arrow
  }
  return words;
}

absl::StatusOr<GraphText> MakeGraphText(const GraphCorpusOptions& options, int num_nodes,
                                        uint64_t seed) {
  if (options.notations.empty() || options.generators.empty()) {
    return absl::InvalidArgumentError("graph corpus: no notations or no generators");
  }
  SeededRandom random = SeededRandom::Stream(seed, 0);
  GeneratorOptions generator;
  generator.kind = options.generators[random.Below(options.generators.size())];
  generator.num_nodes = num_nodes;
  generator.expected_degree = options.expected_degree;
  GP_ASSIGN_OR_RETURN(Graph graph, GenerateGraph(generator, random.Next()));
  GP_ASSIGN_OR_RETURN(std::vector<std::string> names,
                      DrawNodeNames(options.names, num_nodes, random.Next()));
  PromptOptions prompt;
  prompt.notation = options.notations[random.Below(options.notations.size())];
  prompt.node_header = random.Uniform() < options.node_header_fraction;
  const Ordering ordering = MakeOrderings(graph, 2, random.Next())[1];
  // Drawn only when hints are asked for, so corpora without them keep their streams.
  prompt.label_parent_hints = options.parent_hint_fraction > 0 &&
                              prompt.notation == Notation::kLabels &&
                              random.Uniform() < options.parent_hint_fraction;
  GP_ASSIGN_OR_RETURN(Prompt rendered, RenderPrompt(graph, names, prompt, ordering));

  GraphText out;
  out.text = std::move(rendered.text);
  for (const MentionSpan& hint : rendered.parent_hints) out.hints.push_back({hint.begin, hint.end});
  std::vector<int> asked(num_nodes);
  for (int i = 0; i < num_nodes; ++i) asked[i] = i;
  random.Shuffle(&asked);
  for (size_t q = 0; q < asked.size(); ++q) {
    absl::StrAppend(&out.text, q == 0 ? "\n" : " ", "Parents of ", names[asked[q]], ":");
    std::vector<std::string> parents;
    if (options.answer_order == AnswerOrder::kText) {
      for (int p : Neighbors(graph, ordering, asked[q], /*parents=*/true)) {
        parents.push_back(names[p]);
      }
    } else {
      for (int p : graph.Parents(asked[q])) parents.push_back(names[p]);
      std::sort(parents.begin(), parents.end());
    }
    std::string answer;
    for (size_t k = 0; k < parents.size(); ++k)
      absl::StrAppend(&answer, k ? ", " : " ", parents[k]);
    if (parents.empty()) answer = " none";
    answer += ".";
    const auto begin = static_cast<uint32_t>(out.text.size());
    out.text += answer;
    out.answers.push_back({begin, static_cast<uint32_t>(out.text.size())});
  }
  return out;
}

absl::StatusOr<GraphTextBatch> TokenizeGraphTexts(const Tokenizer& tokenizer,
                                                  const std::vector<GraphText>& texts) {
  std::vector<Encoding> encodings;
  size_t length = 0;
  for (const GraphText& t : texts) {
    GP_ASSIGN_OR_RETURN(Encoding e, tokenizer.Encode(t.text, /*add_special_tokens=*/true));
    length = std::max(length, e.ids.size());
    encodings.push_back(std::move(e));
  }
  const auto rows = static_cast<int64_t>(texts.size());
  const auto columns = static_cast<int64_t>(length);
  GraphTextBatch batch{at::zeros({rows, columns}, at::kLong), at::zeros({rows, columns}, at::kLong),
                       at::full({rows, columns}, -1, at::kLong)};
  auto ids = batch.input_ids.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  auto answer = batch.answer_index.accessor<int64_t, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    const Encoding& e = encodings[b];
    const auto& spans = texts[b].answers;
    size_t q = 0;
    bool started = false;
    for (size_t j = 0; j < e.ids.size(); ++j) {
      ids[b][j] = e.ids[j];
      mask[b][j] = 1;
      const auto [begin, end] = e.offsets[j];
      if (end == 0 || q >= spans.size()) continue;  // inserted BOS, or after the last answer
      while (q < spans.size() && begin >= spans[q].second) {
        ++q;
        started = false;
      }
      if (q >= spans.size() || end <= spans[q].first) continue;
      if (!started && begin != spans[q].first) {
        return absl::InvalidArgumentError(absl::StrCat(
            "graph text ", b, ": the answer at byte ", spans[q].first,
            " does not begin on a token boundary (token '", e.tokens[j], "' at byte ", begin, ")"));
      }
      started = true;
      answer[b][j] = static_cast<int64_t>(q);
    }
    // Hints: the tokens inside each span, the first beginning where the span does.
    size_t j = 0;
    for (const auto& [hint_begin, hint_end] : texts[b].hints) {
      while (j < e.ids.size() && (e.offsets[j].second == 0 || e.offsets[j].first < hint_begin)) ++j;
      if (j == e.ids.size() || e.offsets[j].first != hint_begin) {
        return absl::InvalidArgumentError(absl::StrCat("graph text ", b, ": the hint at byte ",
                                                       hint_begin,
                                                       " does not begin on a token boundary"));
      }
      for (; j < e.ids.size() && e.offsets[j].first < hint_end; ++j) answer[b][j] = kHintToken;
    }
  }
  return batch;
}

std::vector<Notation> DistinctNotations(const std::vector<Notation>& notations) {
  std::vector<Notation> distinct;
  for (Notation n : notations) {
    if (std::find(distinct.begin(), distinct.end(), n) == distinct.end()) distinct.push_back(n);
  }
  return distinct;
}

std::string NotationMixDescription(const std::vector<Notation>& notations) {
  const std::vector<Notation> distinct = DistinctNotations(notations);
  const bool weighted = distinct.size() < notations.size();
  std::vector<std::string> parts;
  for (Notation n : distinct) {
    const auto count = std::count(notations.begin(), notations.end(), n);
    parts.push_back(weighted ? absl::StrCat(NotationName(n), " (", count, " of ", notations.size(),
                                            parts.empty() ? " texts)" : ")")
                             : NotationName(n));
  }
  return absl::StrJoin(parts, " and ");
}

}  // namespace gp
