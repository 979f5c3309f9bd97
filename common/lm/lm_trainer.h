// Trains a small Llama-family model on graph text (graph_corpus.h) through graphprobe's own
// model runtime and autograd, and measures how often it answers parent questions exactly.
//
//   GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromJson(GraphTextTokenizerJson()));
//   GP_ASSIGN_OR_RETURN(LmTrainResult result, TrainGraphLm(options, tokenizer, on_progress));
//   result.model  // a DecoderModel, ready for SaveHubCheckpoint
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/lm/graph_corpus.h"
#include "common/model/decoder_model.h"
#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace gp {

// The tokenizer.json of graph-text models: byte-level BPE whose merges make every name,
// operator and question word one token; BOS "<|begin_of_text|>".
nlohmann::json GraphTextTokenizerJson(NameScheme names = NameScheme::kLetters);

struct ToyModelShape {
  int hidden_size = 128;
  int num_layers = 3;
  int num_heads = 4;
  int intermediate_size = 512;
  // Standard deviation of the initial weights (config.json's initializer_range); <= 0 means
  // 1/sqrt(hidden_size). Hugging Face's 0.02 suits widths near 1000: at a width of 100 it
  // leaves attention uniform for a long plateau before heads form.
  double init_std = 0;
};

// A Hugging Face llama config.json for `shape` over `vocab_size` tokens.
nlohmann::json ToyLlamaConfigJson(const ToyModelShape& shape, int64_t vocab_size);

struct LmTrainOptions {
  ToyModelShape shape;
  GraphCorpusOptions corpus;
  int steps = 3000;
  int batch_size = 32;
  double learning_rate = 3e-3;  // peak, after a linear warmup; cosine decay to 10% after it
  int warmup_steps = 100;
  double weight_decay = 0.01;  // decoupled (AdamW)
  double clip_norm = 1.0;
  // Weight of the next-token loss on the rest of the text (the graph and the questions), added
  // to the answer loss; 0 trains on answers only.
  double context_loss_weight = 0;
  // Graph sizes grow from corpus.min_nodes to corpus.max_nodes over this fraction of the
  // steps, then stay uniform over the whole range.
  double curriculum_fraction = 0.3;
  uint64_t seed = 1;
  // Continue from this checkpoint directory (an earlier stage of a curriculum) instead of
  // random weights; `shape` is then the checkpoint's.
  std::string init_from;
  // With init_from: decoder layers added on top of the checkpoint's, each starting as the
  // identity (layer_growth.h), so the continued model can learn a further hop.
  int added_layers = 0;
  // Where the model trains (float32 throughout): the CPU, or a CUDA device where this libtorch
  // has one. Graph text is drawn and tokenized on the host either way.
  at::Device device = at::kCPU;
  // A time budget (0: none). Training ends at `steps` or after this long, whichever comes
  // first; the schedule and curriculum follow whichever is further along, so a budgeted run
  // still warms up, grows its graphs and decays its learning rate completely.
  double max_seconds = 0;
  // Held-out evaluation: graphs of eval_nodes nodes from seeds training never draws.
  int eval_graphs = 256;
  int eval_nodes = 7;
  int eval_every = 500;  // steps; 0 evaluates only at the end

  nlohmann::json ToJson() const;
};

struct ParentAccuracy {
  double parent_sets = 0;  // questions whose whole answer is right
  // Half-width of parent_sets' 95% interval, with the graph as the unit (the questions about
  // one graph are not independent): 1.96 standard errors of the per-graph rates.
  double parent_sets_interval = 0;
  double answer_tokens = 0;
  int questions = 0;
  std::map<std::string, double> parent_sets_by_notation;
  // Exact parent sets by the number of parents (1 stands for "0 or 1"): {right, asked}.
  std::map<int, std::pair<int64_t, int64_t>> by_parent_count;
};

// Teacher-forced: a question counts when every token of its answer is the argmax given the
// text before it, which is exactly when greedy decoding writes the answer.
absl::StatusOr<ParentAccuracy> EvaluateParentAnswers(const DecoderModel& model,
                                                     const Tokenizer& tokenizer,
                                                     const GraphCorpusOptions& corpus,
                                                     int num_graphs, int num_nodes, uint64_t seed);

struct LmTrainProgress {
  int step = 0;
  int steps = 0;
  double loss = 0;  // mean over this step's answer (and parent hint) tokens
  double learning_rate = 0;
  int max_nodes = 0;  // the curriculum's current largest graph
  double seconds = 0;
  std::optional<ParentAccuracy> evaluation;  // on evaluation steps
};

struct LmTrainResult {
  DecoderModel model;
  nlohmann::json config;
  std::vector<double> losses;  // per step (as many as steps were run)
  ParentAccuracy final_accuracy;
  double seconds = 0;
};

absl::StatusOr<LmTrainResult> TrainGraphLm(
    const LmTrainOptions& options, const Tokenizer& tokenizer,
    const std::function<void(const LmTrainProgress&)>& on_progress = nullptr);

}  // namespace gp
