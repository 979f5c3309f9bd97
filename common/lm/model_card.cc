// Model card text.
#include "common/lm/model_card.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace gp {

std::string ModelCardMarkdown(const ModelCardFacts& f) {
  const LmTrainOptions& o = f.options;
  std::string by_notation;
  for (const auto& [notation, accuracy] : f.accuracy.parent_sets_by_notation) {
    absl::StrAppendFormat(&by_notation, "| %s | %.1f%% |\n", notation, 100 * accuracy);
  }
  std::vector<std::string> notations, generators;
  for (Notation n : o.corpus.notations) notations.push_back(NotationName(n));
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
Half the texts start with a `Nodes: ...` header line. A question follows for every node, in random order; its answer lists the parents in name order
(`none` without any). Training loss is on the answer tokens only.

## Held-out accuracy (%d graphs of %d nodes, %d questions)

Exact parent sets (every answer token is the greedy choice): **%.1f%%**; answer tokens:
%.1f%%.

| notation | exact parent sets |
|---|---|
%s
## Architecture

Llama (RMSNorm, RoPE, SwiGLU, no biases): hidden %d, %d layers, %d heads (head dim %d),
MLP %d, vocabulary %d, %d parameters, stored in bfloat16.

The tokenizer is a byte-level BPE `tokenizer.json` whose merges make every node name, `->`,
`Parents`, `of` and `none` a single token; anything else falls back to bytes.

## Training

AdamW (beta2 0.98, weight decay %g), peak learning rate %g after %d warmup steps, cosine decay
to 10%%, gradient clipping at %g; %d steps of %d graphs%s; graph sizes grow from %d to %d
nodes over the first %.0f%% of training. Seed %llu. Answer loss %.3f (first 50 steps) -> %.3f
(last 50 steps). Training took %.1f minutes on %s.

Reproduce (from the repository root, after `bash scripts/setup.sh`):

```
%s
```
)",
      f.name, absl::StrJoin(notations, " and "), absl::StrJoin(generators, " and "),
      o.corpus.min_nodes, o.corpus.max_nodes, NameSchemeName(o.corpus.names), o.eval_graphs,
      o.eval_nodes, f.accuracy.questions, 100 * f.accuracy.parent_sets,
      100 * f.accuracy.answer_tokens, by_notation, o.shape.hidden_size, o.shape.num_layers,
      o.shape.num_heads, o.shape.hidden_size / o.shape.num_heads, o.shape.intermediate_size,
      f.vocab_size, f.parameters, o.weight_decay, o.learning_rate, o.warmup_steps, o.clip_norm,
      f.steps_run, o.batch_size,
      o.max_seconds > 0
          ? absl::StrFormat(" (a %.0f-minute budget; schedule fitted to it)", o.max_seconds / 60)
          : std::string(),
      o.corpus.min_nodes, o.corpus.max_nodes, 100 * o.curriculum_fraction,
      static_cast<unsigned long long>(o.seed), f.first_loss, f.last_loss,  // NOLINT
      f.training_seconds / 60, f.machine, f.command);
}

}  // namespace gp
