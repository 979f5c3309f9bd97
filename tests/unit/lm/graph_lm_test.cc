// The toy-model pipeline: graph text and its answer masks, the whole-word tokenizer, a short
// training run whose loss falls, and the hub-layout checkpoint read back by the model loader.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/core/json_file.h"
#include "common/lm/accuracy_table.h"
#include "common/lm/graph_corpus.h"
#include "common/lm/hub_checkpoint.h"
#include "common/lm/layer_growth.h"
#include "common/lm/lm_trainer.h"
#include "common/lm/model_card.h"
#include "tests/unit/expect_status.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

Tokenizer GraphTokenizer() {
  auto tokenizer = Tokenizer::FromJson(GraphTextTokenizerJson());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *std::move(tokenizer);
}

TEST(GraphTextTokenizerTest, NamesArrowsAndQuestionsAreSingleTokens) {
  const Tokenizer tokenizer = GraphTokenizer();
  const std::string text =
      "Nodes: A, Q, Z.\nA -> Q, Z -> Q\nParents of Q: A, Z. Parents of A: none.";
  auto e = tokenizer.Encode(text, /*add_special_tokens=*/true);
  ASSERT_TRUE(e.ok());
  // Names, "-> name" and "name:" are single tokens: the child of an arrow and the node a
  // question asks about are each one token.
  const std::vector<std::string> expected = {"<|begin_of_text|>",
                                             "Nodes",
                                             ":",
                                             "ĠA",
                                             ",",
                                             "ĠQ",
                                             ",",
                                             "ĠZ",
                                             ".",
                                             "Ċ",
                                             "A",
                                             "Ġ->ĠQ",
                                             ",",
                                             "ĠZ",
                                             "Ġ->ĠQ",
                                             "Ċ",
                                             "Parents",
                                             "Ġof",
                                             "ĠQ:",
                                             "ĠA",
                                             ",",
                                             "ĠZ",
                                             ".",
                                             "ĠParents",
                                             "Ġof",
                                             "ĠA:",
                                             "Ġnone",
                                             "."};
  EXPECT_EQ(e->tokens, expected);
  EXPECT_EQ(tokenizer.Decode(e->ids, /*skip_special_tokens=*/true), text);
  // Text outside the word list still round-trips through bytes.
  auto other = tokenizer.Encode("Zebra -> é", false);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(tokenizer.Decode(other->ids, false), "Zebra -> é");
}

TEST(GraphCorpusTest, AnswersListEachNodesParentsInNameOrder) {
  GraphCorpusOptions options;
  options.notations = {Notation::kArrow};
  options.node_header_fraction = 0;
  auto text = MakeGraphText(options, 6, 7);
  ASSERT_TRUE(text.ok()) << text.status();
  ASSERT_EQ(text->answers.size(), 6u);
  // Parse the edge list ("P -> C, ...") back and check each answer against it.
  std::map<std::string, std::vector<std::string>> parents_of;
  const std::string edges = text->text.substr(0, text->text.find('\n'));
  for (absl::string_view edge : absl::StrSplit(edges, ", ", absl::SkipEmpty())) {
    const std::vector<std::string> ends = absl::StrSplit(edge, " -> ");
    ASSERT_EQ(ends.size(), 2u) << edges;
    parents_of[ends[1]].push_back(ends[0]);
  }
  for (const auto& [begin, end] : text->answers) {
    const size_t question = text->text.rfind("Parents of ", begin) + 11;
    const std::string child =
        text->text.substr(question, text->text.find(':', question) - question);
    std::vector<std::string> parents = parents_of[child];
    std::sort(parents.begin(), parents.end());
    const std::string expected = parents.empty() ? " none" : " " + absl::StrJoin(parents, ", ");
    EXPECT_EQ(text->text.substr(begin, end - begin), expected + ".") << text->text;
  }
  auto again = MakeGraphText(options, 6, 7);
  EXPECT_EQ(again->text, text->text);
  EXPECT_NE(MakeGraphText(options, 6, 8)->text, text->text);

  // In text order each answer lists the parents as the edge list names them.
  options.answer_order = AnswerOrder::kText;
  bool some_order_differs = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto in_text_order = MakeGraphText(options, 6, seed);
    ASSERT_TRUE(in_text_order.ok());
    const std::string& t = in_text_order->text;
    std::map<std::string, std::vector<std::string>> listed_parents;
    for (absl::string_view edge :
         absl::StrSplit(t.substr(0, t.find('\n')), ", ", absl::SkipEmpty())) {
      const std::vector<std::string> ends = absl::StrSplit(edge, " -> ");
      listed_parents[ends[1]].push_back(ends[0]);
    }
    for (const auto& [begin, end] : in_text_order->answers) {
      const size_t question = t.rfind("Parents of ", begin) + 11;
      const std::string child = t.substr(question, t.find(':', question) - question);
      const std::vector<std::string>& listed = listed_parents[child];
      const std::string expected = listed.empty() ? " none" : " " + absl::StrJoin(listed, ", ");
      EXPECT_EQ(t.substr(begin, end - begin), expected + ".") << t;
      some_order_differs |= !std::is_sorted(listed.begin(), listed.end());
    }
  }
  EXPECT_TRUE(some_order_differs) << "no graph listed parents out of name order";
  EXPECT_EQ(ParseAnswerOrder("text").value(), AnswerOrder::kText);
  EXPECT_EQ(ParseAnswerOrder("sorted").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GraphCorpusTest, ANotationListedTwiceIsWeightedNotAskedTwice) {
  using N = Notation;
  EXPECT_EQ(DistinctNotations({N::kArrow, N::kArrow, N::kParents, N::kArrow}),
            (std::vector<N>{N::kArrow, N::kParents}));
  EXPECT_EQ(NotationMixDescription({N::kArrow, N::kParents}), "arrow and parents");
  EXPECT_EQ(NotationMixDescription({N::kArrow, N::kArrow, N::kArrow, N::kParents}),
            "arrow (3 of 4 texts) and parents (1 of 4)");
}

TEST(GraphCorpusTest, AnswerIndexMarksExactlyTheAnswerTokens) {
  const Tokenizer tokenizer = GraphTokenizer();
  std::vector<GraphText> texts;
  for (int seed = 0; seed < 4; ++seed) texts.push_back(*MakeGraphText({}, 3 + seed, seed));
  auto batch = TokenizeGraphTexts(tokenizer, texts);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t b = 0; b < texts.size(); ++b) {
    for (size_t q = 0; q < texts[b].answers.size(); ++q) {
      std::vector<int32_t> ids;
      for (int64_t j = 0; j < batch->input_ids.size(1); ++j) {
        if (batch->answer_index[b][j].item<int64_t>() == static_cast<int64_t>(q)) {
          ids.push_back(static_cast<int32_t>(batch->input_ids[b][j].item<int64_t>()));
        }
      }
      const auto [begin, end] = texts[b].answers[q];
      EXPECT_EQ(tokenizer.Decode(ids, false), texts[b].text.substr(begin, end - begin));
    }
    EXPECT_EQ(batch->answer_index[b][0].item<int64_t>(), -1);  // BOS
  }
  EXPECT_EQ(batch->attention_mask.sum(1).min().item<int64_t>() > 0, true);
}

// Parent hints ("a -> B A") are trained tokens of their own kind, drawn only for the labels
// notation and at the asked-for rate.
TEST(GraphCorpusTest, ParentHintsAreMarkedAsHintTokens) {
  const Tokenizer tokenizer = GraphTokenizer();
  GraphCorpusOptions options;
  options.notations = {Notation::kLabels};
  options.parent_hint_fraction = 1;
  std::vector<GraphText> texts;
  for (int seed = 0; seed < 4; ++seed) texts.push_back(*MakeGraphText(options, 5, seed));
  auto batch = TokenizeGraphTexts(tokenizer, texts);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t b = 0; b < texts.size(); ++b) {
    ASSERT_FALSE(texts[b].hints.empty()) << texts[b].text;
    std::vector<int32_t> hinted;
    for (int64_t j = 0; j < batch->input_ids.size(1); ++j) {
      if (batch->answer_index[b][j].item<int64_t>() == kHintToken) {
        hinted.push_back(static_cast<int32_t>(batch->input_ids[b][j].item<int64_t>()));
      }
    }
    std::string expected;
    for (const auto& [begin, end] : texts[b].hints) {
      expected += texts[b].text.substr(begin, end - begin);
    }
    EXPECT_EQ(tokenizer.Decode(hinted, false), expected);
    EXPECT_EQ(hinted.size(), texts[b].hints.size());  // one name token each
  }
  options.parent_hint_fraction = 0;
  EXPECT_TRUE(MakeGraphText(options, 5, 0)->hints.empty());
  options.parent_hint_fraction = 1;
  options.notations = {Notation::kArrow};
  EXPECT_TRUE(MakeGraphText(options, 5, 0)->hints.empty());
}

// Each bad option is named with its value, as the CLI flag it comes from (RunSubcommand turns
// "weight_decay" into "--weight-decay"); NaN is refused too, not trained on.
TEST(GraphLmTrainerTest, RejectsBadOptionsNamingEach) {
  const Tokenizer tokenizer = GraphTokenizer();
  const std::vector<std::pair<std::function<void(LmTrainOptions&)>, std::string>> cases = {
      {[](LmTrainOptions& o) { o.shape.hidden_size = 30; },
       "heads 4: expected a count that splits hidden 30 into an even head dimension per head"},
      {[](LmTrainOptions& o) { o.shape.num_layers = 0; }, "layers 0: expected >= 1"},
      {[](LmTrainOptions& o) { o.shape.intermediate_size = -4; }, "intermediate -4: expected >= 1"},
      {[](LmTrainOptions& o) { o.corpus.max_nodes = 99; }, "graph sizes 3..99 outside 2..64"},
      {[](LmTrainOptions& o) { o.corpus.expected_degree = -1; }, "degree -1: expected >= 0"},
      {[](LmTrainOptions& o) { o.corpus.parent_hint_fraction = 1.5; },
       "parent_hints 1.5: expected a fraction in [0, 1]"},
      {[](LmTrainOptions& o) { o.steps = 0; }, "steps 0: expected >= 1"},
      {[](LmTrainOptions& o) { o.learning_rate = std::nan(""); }, "lr nan: expected > 0"},
      {[](LmTrainOptions& o) { o.warmup_steps = -1; }, "warmup -1: expected >= 0"},
      {[](LmTrainOptions& o) { o.weight_decay = -1; }, "weight_decay -1: expected >= 0"},
      {[](LmTrainOptions& o) { o.context_loss_weight = -0.5; }, "context_loss -0.5: expected >= 0"},
      {[](LmTrainOptions& o) { o.curriculum_fraction = 2; },
       "curriculum 2: expected a fraction in [0, 1]"},
      {[](LmTrainOptions& o) { o.max_seconds = -60; }, "max_minutes -1: expected >= 0"},
      {[](LmTrainOptions& o) { o.eval_every = -5; }, "eval_every -5: expected >= 0"},
  };
  for (const auto& [spoil, message] : cases) {
    LmTrainOptions options;
    spoil(options);
    EXPECT_TRUE(
        HasStatus(TrainGraphLm(options, tokenizer), absl::StatusCode::kInvalidArgument, message));
  }
}

TEST(GraphLmTrainerTest, ShortTrainingLowersLossAndTheCheckpointLoadsBack) {
  const Tokenizer tokenizer = GraphTokenizer();
  LmTrainOptions options;
  options.shape = {32, 2, 2, 64};
  options.corpus.min_nodes = 3;
  options.corpus.max_nodes = 4;
  options.steps = 60;
  options.batch_size = 8;
  options.warmup_steps = 10;
  options.eval_graphs = 16;
  options.eval_nodes = 4;
  options.eval_every = 0;
  int evaluations = 0;
  auto result = TrainGraphLm(options, tokenizer, [&](const LmTrainProgress& p) {
    evaluations += p.evaluation.has_value();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->losses.size(), 60u);
  EXPECT_EQ(evaluations, 1);
  const auto mean = [&](size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += result->losses[i];
    return s / (to - from);
  };
  EXPECT_LT(mean(50, 60), 0.6 * mean(0, 10));
  EXPECT_GT(result->final_accuracy.answer_tokens, 0.2);
  EXPECT_EQ(result->final_accuracy.questions, 2 * 16 * 4);  // two notations
  // The interval over 32 (notation, graph) units: positive unless every graph scored alike,
  // and never wider than the whole range.
  EXPECT_GE(result->final_accuracy.parent_sets_interval, 0);
  EXPECT_LT(result->final_accuracy.parent_sets_interval, 0.5);

  // The card's table: every notation with and without the header, on the same held-out graphs.
  AccuracyTableOptions table_options;
  table_options.node_counts = {4};
  table_options.graphs = 8;
  auto table = EvaluateAccuracyTable(result->model, tokenizer, options.corpus, table_options);
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 4u);
  for (const AccuracyCell& cell : *table) {
    EXPECT_EQ(cell.accuracy.questions, 8 * 4);
    EXPECT_GE(cell.accuracy.parent_sets, 0);
    EXPECT_LE(cell.accuracy.parent_sets, cell.accuracy.answer_tokens + 1e-9);
  }
  const std::string markdown = AccuracyTableMarkdown(*table);
  EXPECT_NE(markdown.find("| 4 | yes | 32 |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| 4 | no | 32 |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("parents: exact parent sets"), std::string::npos) << markdown;
  EXPECT_DOUBLE_EQ(WorstParentSets(*table, 7), 1);  // no cell of that size
  table_options.graphs = 0;
  EXPECT_EQ(EvaluateAccuracyTable(result->model, tokenizer, options.corpus, table_options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  const fs::path dir = fs::temp_directory_path() / ("gp_toy_" + std::to_string(::getpid()));
  ModelCardFacts facts;
  facts.table = *table;
  facts.name = "toy-test";
  facts.options = options;
  facts.accuracy = result->final_accuracy;
  facts.stages = {{"graphprobe train-lm --steps 30", "stage one", 60},
                  {"graphprobe train-lm --init-from x", "stage two", 60}};
  const std::string card = ModelCardMarkdown(facts);
  EXPECT_NE(card.find("# toy-test"), std::string::npos);
  EXPECT_NE(card.find("Stage 2: stage two"), std::string::npos);
  // Reproduced in place, the first stage replaces the checkpoint there: it says --overwrite.
  EXPECT_NE(
      card.find("graphprobe train-lm --overwrite --steps 30\ngraphprobe train-lm --init-from x"),
      std::string::npos);
  EXPECT_NE(card.find("Total: 2.0 minutes"), std::string::npos);
  EXPECT_NE(card.find(markdown), std::string::npos);
  EXPECT_NE(card.find("graphprobe eval-lm --model models/toy-test` prints"), std::string::npos);
  // A model that answers in the text's order is evaluated in that order.
  facts.options.corpus.answer_order = AnswerOrder::kText;
  const std::string text_order = ModelCardMarkdown(facts);
  EXPECT_NE(text_order.find("in the order the graph text lists them"), std::string::npos);
  EXPECT_NE(text_order.find("eval-lm --model models/toy-test --answer-order text`"),
            std::string::npos);
  EXPECT_EQ(text_order.find("parent hints"), std::string::npos);
  // A mix beyond eval-lm's defaults is named in the command, and hints in the loss sentence.
  facts.options.corpus.notations = {Notation::kArrow, Notation::kArrow, Notation::kParents,
                                    Notation::kLabels};
  facts.options.corpus.generators = {GeneratorKind::kDag};
  facts.options.corpus.parent_hint_fraction = 0.5;
  const std::string mixed = ModelCardMarkdown(facts);
  EXPECT_NE(mixed.find("--answer-order text --notations arrow,parents,labels --generators dag`"),
            std::string::npos)
      << mixed;
  EXPECT_NE(mixed.find("on the parent hints that follow each child in 0.5 of the labels texts"),
            std::string::npos)
      << mixed;
  ASSERT_TRUE(SaveHubCheckpoint(dir.string(), result->model,
                                {result->config, GraphTextTokenizerJson(), card})
                  .ok());
  auto config = ReadJsonFile((dir / "config.json").string());
  ASSERT_TRUE(config.ok());
  EXPECT_EQ((*config)["model_type"], "llama");
  auto reloaded = DecoderModel::Load(dir.string(), {});
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  auto reloaded_tokenizer = Tokenizer::FromFile((dir / "tokenizer.json").string());
  ASSERT_TRUE(reloaded_tokenizer.ok());
  // The weights went through bfloat16: the reloaded logits match the rounded originals.
  {
    at::NoGradGuard no_grad;
    for (auto& [name, p] : result->model.NamedParameters())
      p.copy_(p.to(at::kBFloat16).to(at::kFloat));
  }
  auto batch = TokenizeGraphTexts(*reloaded_tokenizer, {*MakeGraphText({}, 4, 99)});
  ASSERT_TRUE(batch.ok());
  ForwardOptions forward;
  forward.capture = ForwardOptions::Capture::kNone;
  forward.logits = true;
  auto a = result->model.Forward(batch->input_ids, batch->attention_mask, forward);
  auto b = reloaded->Forward(batch->input_ids, batch->attention_mask, forward);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(at::allclose(a->logits, b->logits, 1e-5, 1e-5));

  // A layer added on top starts as the identity: the same logits, a third layer whose branch
  // outputs are zero while its other weights are random; training then moves them.
  auto grown = LoadWithAddedLayers(dir.string(), 1, /*seed=*/7);
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(grown->config().num_layers, 3);
  auto c = grown->Forward(batch->input_ids, batch->attention_mask, forward);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(at::allclose(b->logits, c->logits, 1e-5, 1e-5));
  std::map<std::string, at::Tensor> grown_weights;
  for (auto& [name, p] : grown->NamedParameters()) grown_weights[name] = p;
  EXPECT_EQ(grown_weights.at("model.layers.2.self_attn.o_proj.weight").abs().max().item<float>(),
            0);
  EXPECT_EQ(grown_weights.at("model.layers.2.mlp.down_proj.weight").abs().max().item<float>(), 0);
  EXPECT_GT(grown_weights.at("model.layers.2.self_attn.q_proj.weight").abs().max().item<float>(),
            0);
  EXPECT_EQ(LoadWithAddedLayers(dir.string(), 0, 7).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto two_more = ConfigWithAddedLayers(result->config, 2, "toy");
  ASSERT_TRUE(two_more.ok()) << two_more.status();
  EXPECT_EQ((*two_more)["num_hidden_layers"], 4);
  nlohmann::json gemma = result->config;
  gemma["model_type"] = "gemma2";
  EXPECT_EQ(ConfigWithAddedLayers(gemma, 1, "toy").status().code(),
            absl::StatusCode::kInvalidArgument);
  LmTrainOptions deeper = options;
  deeper.steps = 3;
  deeper.eval_graphs = 4;
  deeper.added_layers = 1;
  EXPECT_EQ(TrainGraphLm(deeper, tokenizer).status().code(), absl::StatusCode::kInvalidArgument)
      << "layers are added to a checkpoint only";
  deeper.init_from = dir.string();
  auto continued = TrainGraphLm(deeper, tokenizer);
  ASSERT_TRUE(continued.ok()) << continued.status();
  EXPECT_EQ(continued->config["num_hidden_layers"], 3);
  for (auto& [name, p] : continued->model.NamedParameters()) {
    if (name == "model.layers.2.self_attn.o_proj.weight") EXPECT_GT(p.abs().max().item<float>(), 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gp
