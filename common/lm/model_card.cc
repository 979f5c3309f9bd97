// Model card text.
#include "common/lm/model_card.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace gp {

nlohmann::json TrainingStage::ToJson() const {
  return {{"command", command}, {"recipe", recipe}, {"seconds", seconds}};
}

absl::StatusOr<TrainingStage> TrainingStage::FromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("command") || !json["command"].is_string() ||
      !json.contains("recipe") || !json["recipe"].is_string() || !json.contains("seconds") ||
      !json["seconds"].is_number()) {
    return absl::InvalidArgumentError("a training stage needs command, recipe and seconds");
  }
  return TrainingStage{json["command"].get<std::string>(), json["recipe"].get<std::string>(),
                       json["seconds"].get<double>()};
}

std::string DescribeTrainingStage(const LmTrainOptions& o, int steps_run, double seconds,
                                  double first_loss, double last_loss, const std::string& machine) {
  std::vector<std::string> notations, generators;
  for (Notation n : o.corpus.notations) notations.push_back(NotationName(n));
  for (GeneratorKind g : o.corpus.generators) generators.push_back(GeneratorKindName(g));
  return absl::StrFormat(
      "%s; AdamW (beta2 0.98, weight decay %g), peak learning rate %g after %d warmup steps, "
      "cosine decay to 10%%, gradient clipping at %g; %d steps of %d graphs%s (%s notation, %s "
      "graphs) of %d to %d nodes%s%s%s. Seed %llu. %s "
      "loss %.3f (first 50 steps) -> %.3f (last 50 steps). %.1f minutes on %s.",
      o.init_from.empty()
          ? "From random weights (std " +
                absl::StrFormat("%.3g", o.shape.init_std > 0 ? o.shape.init_std
                                                             : 1 / std::sqrt(o.shape.hidden_size)) +
                ")"
          : "Continued from " + o.init_from +
                (o.added_layers > 0
                     ? absl::StrFormat(" with %d layer(s) added on top (starting as the identity)",
                                       o.added_layers)
                     : std::string()),
      o.weight_decay, o.learning_rate, o.warmup_steps, o.clip_norm, steps_run, o.batch_size,
      o.max_seconds > 0 ? absl::StrFormat(" (a %.0f-minute budget)", o.max_seconds / 60)
                        : std::string(),
      absl::StrJoin(notations, "/"), absl::StrJoin(generators, "/"), o.corpus.min_nodes,
      o.corpus.max_nodes,
      o.curriculum_fraction > 0
          ? absl::StrFormat(", the largest size growing over the first %.0f%% of training",
                            100 * o.curriculum_fraction)
          : std::string(),
      o.context_loss_weight > 0
          ? absl::StrFormat("; next-token loss on the rest of the text at weight %g",
                            o.context_loss_weight)
          : std::string(),
      o.corpus.parent_hint_fraction > 0
          ? absl::StrFormat("; parent hints in %g of the labels texts (trained, never evaluated)",
                            o.corpus.parent_hint_fraction)
          : std::string(),
      static_cast<unsigned long long>(o.seed),  // NOLINT
      o.corpus.parent_hint_fraction > 0 ? "Answer and hint" : "Answer", first_loss, last_loss,
      seconds / 60, machine);
}

namespace {

// The `eval-lm` flags that ask what the card's table asks: the training corpus's answer order,
// notations and generators where they differ from eval-lm's defaults (the table's and the
// corpus's own).
std::string EvalLmFlags(const GraphCorpusOptions& corpus) {
  std::string flags;
  if (corpus.answer_order == AnswerOrder::kText) flags += " --answer-order text";
  const std::vector<Notation> notations = DistinctNotations(corpus.notations);
  if (notations != AccuracyTableOptions{}.notations) {
    absl::StrAppend(&flags, " --notations ",
                    absl::StrJoin(notations, ",", [](std::string* out, Notation n) {
                      out->append(NotationName(n));
                    }));
  }
  if (corpus.generators != GraphCorpusOptions{}.generators) {
    absl::StrAppend(&flags, " --generators ",
                    absl::StrJoin(corpus.generators, ",", [](std::string* out, GeneratorKind g) {
                      out->append(GeneratorKindName(g));
                    }));
  }
  return flags;
}

// A stage's command as the Reproduce block gives it: run from the repository root, a stage that
// starts from scratch replaces the checkpoint already there, which train-lm does only when told
// (--overwrite).
std::string ReproducingCommand(const std::string& command) {
  constexpr absl::string_view kTrainLm = "graphprobe train-lm ";
  if (!absl::StartsWith(command, kTrainLm) || absl::StrContains(command, "--init-from") ||
      absl::StrContains(command, "--overwrite")) {
    return command;
  }
  return absl::StrCat(kTrainLm, "--overwrite ", command.substr(kTrainLm.size()));
}

}  // namespace

std::string ModelCardMarkdown(const ModelCardFacts& f) {
  const LmTrainOptions& o = f.options;
  std::string stages, commands;
  double total_seconds = 0;
  for (size_t i = 0; i < f.stages.size(); ++i) {
    const TrainingStage& stage = f.stages[i];
    absl::StrAppend(&stages, f.stages.size() > 1 ? absl::StrCat("Stage ", i + 1, ": ") : "",
                    stage.recipe, "\n\n");
    absl::StrAppend(&commands, i ? "\n" : "", ReproducingCommand(stage.command));
    total_seconds += stage.seconds;
  }
  if (f.stages.size() > 1) {
    absl::StrAppend(&stages, absl::StrFormat("Total: %.1f minutes.\n\n", total_seconds / 60));
  }
  std::string by_notation;
  for (const auto& [notation, accuracy] : f.accuracy.parent_sets_by_notation) {
    absl::StrAppendFormat(&by_notation, "| %s | %.1f%% |\n", notation, 100 * accuracy);
  }
  std::vector<std::string> generators;
  for (GeneratorKind g : o.corpus.generators) generators.push_back(GeneratorKindName(g));
  return absl::StrFormat(
      R"(---
license: apache-2.0
library_name: graphprobe
tags: [graph-reasoning, interpretability, toy-model]
---
# %s

A small Llama-architecture language model trained by graphprobe (`graphprobe train-lm`,
its own C++ model runtime and autograd) to read random directed graphs written as text and
answer which nodes are the parents of each node. It is graphprobe's embedded default model:
`graphprobe run` probes its attention for the graph's adjacency matrix.

## Task

```
B -> F, A -> F, C -> B, A -> D
Parents of F: A, B. Parents of C: none. Parents of D: A. ...
```

The edge list is written by graphprobe's prompt code (the same text the probes read) in the
%s notation(s), in a shuffled edge order; %s graphs of %d to %d nodes named with %s.
Half the texts start with a `Nodes: ...` header line. A question follows for every node, in random order; its answer lists the parents %s
(`none` without any). Training loss is on the answer tokens%s%s.

## Held-out accuracy (%d graphs of %d nodes, %d questions)

Exact parent sets (every answer token is the greedy choice): **%.1f%%**; answer tokens:
%.1f%%.

| notation | exact parent sets |
|---|---|
%s
By notation, `Nodes:` header and graph size (%d held-out graphs per cell, the same graphs in
every cell of a size; `graphprobe eval-lm --model models/%s%s` prints this table):

%s
## Architecture

Llama (RMSNorm, RoPE, SwiGLU, no biases): hidden %d, %d layers, %d heads (head dim %d),
MLP %d, vocabulary %d, %d parameters, stored in bfloat16.

The tokenizer is a byte-level BPE `tokenizer.json` whose merges make every node name, every
`-> name` (the child of an arrow), every `name:` (the node a question asks about), `Parents`,
`of` and `none` a single token; pieces split at spaces (except after `->`), anything else
falls back to bytes.

## Training

%s
Reproduce (from the repository root, after `bash scripts/setup.sh`):

```
%s
```
)",
      f.name, NotationMixDescription(o.corpus.notations), absl::StrJoin(generators, " and "),
      o.corpus.min_nodes, o.corpus.max_nodes, NameSchemeName(o.corpus.names),
      o.corpus.answer_order == AnswerOrder::kName ? "in name order"
                                                  : "in the order the graph text lists them",
      o.context_loss_weight > 0
          ? absl::StrFormat(" (and, at weight %g, the rest of the text)", o.context_loss_weight)
          : std::string(" only"),
      o.corpus.parent_hint_fraction > 0
          ? absl::StrFormat(" and on the parent hints that follow each child in %g of the labels "
                            "texts (`a -> B A`; evaluations never show them)",
                            o.corpus.parent_hint_fraction)
          : std::string(),
      o.eval_graphs, o.eval_nodes, f.accuracy.questions, 100 * f.accuracy.parent_sets,
      100 * f.accuracy.answer_tokens, by_notation, AccuracyTableOptions{}.graphs, f.name,
      EvalLmFlags(o.corpus), AccuracyTableMarkdown(f.table) + ByParentCountMarkdown(f.table),
      o.shape.hidden_size, o.shape.num_layers, o.shape.num_heads,
      o.shape.hidden_size / o.shape.num_heads, o.shape.intermediate_size, f.vocab_size,
      f.parameters, stages, commands);
}

}  // namespace gp
