// The language-model training loop: AdamW with warmup and cosine decay, a curriculum over
// graph sizes, loss on answer tokens only, held-out parent-set accuracy.
#include "common/lm/lm_trainer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/graph/random.h"
#include "common/lm/layer_growth.h"
#include "common/model/adam.h"
#include "common/model/config.h"
#include "common/tokenizer/byte_tokenizer_json.h"

namespace gp {
namespace {

// Training draws graph seeds from stream 1 of the run's seed, evaluation from stream 2.
constexpr uint64_t kTrainStream = 1, kEvalStream = 2;

absl::StatusOr<GraphTextBatch> DrawBatch(const GraphCorpusOptions& corpus,
                                         const Tokenizer& tokenizer, int batch_size, int min_nodes,
                                         int max_nodes, SeededRandom& random) {
  std::vector<GraphText> texts;
  for (int b = 0; b < batch_size; ++b) {
    const int nodes = min_nodes + static_cast<int>(random.Below(max_nodes - min_nodes + 1));
    GP_ASSIGN_OR_RETURN(GraphText text, MakeGraphText(corpus, nodes, random.Next()));
    texts.push_back(std::move(text));
  }
  return TokenizeGraphTexts(tokenizer, texts);
}

// Logits [B, T-1, V] predicting tokens 1..T-1, and those targets [B, T-1].
absl::StatusOr<std::pair<at::Tensor, at::Tensor>> PredictNext(const DecoderModel& model,
                                                              const GraphTextBatch& batch) {
  ForwardOptions forward;
  forward.capture = ForwardOptions::Capture::kNone;
  forward.logits = true;
  GP_ASSIGN_OR_RETURN(ForwardOutput out,
                      model.Forward(batch.input_ids, batch.attention_mask, forward));
  const int64_t length = batch.input_ids.size(1);
  return std::make_pair(out.logits.narrow(1, 0, length - 1),
                        batch.input_ids.narrow(1, 1, length - 1).to(out.logits.device()));
}

// How far training is, in [0, 1]: by steps, or by time under a budget.
double TrainingProgress(const LmTrainOptions& o, int step, double seconds) {
  double progress = static_cast<double>(step) / o.steps;
  if (o.max_seconds > 0) progress = std::max(progress, seconds / o.max_seconds);
  return std::min(1.0, progress);
}

double LearningRate(const LmTrainOptions& o, int step, double progress) {
  if (step < o.warmup_steps) return o.learning_rate * (step + 1) / o.warmup_steps;
  return o.learning_rate * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
}

int CurriculumMaxNodes(const LmTrainOptions& o, double progress) {
  const GraphCorpusOptions& c = o.corpus;
  if (o.curriculum_fraction <= 0 || progress >= o.curriculum_fraction) return c.max_nodes;
  return c.min_nodes +
         static_cast<int>((c.max_nodes - c.min_nodes) * (progress / o.curriculum_fraction));
}

// "NAME VALUE: expected WHAT": NAME is the CLI flag's name with '_' for '-', so that
// `graphprobe train-lm` names the flag (RunSubcommand).
absl::Status BadOption(absl::string_view name, double value, absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(name, " ", value, ": expected ", expected));
}

// Every check is written so that NaN fails it.
absl::Status ValidateOptions(const LmTrainOptions& o) {
  const ToyModelShape& s = o.shape;
  if (!(s.hidden_size >= 8)) return BadOption("hidden", s.hidden_size, ">= 8");
  if (!(s.num_layers >= 1)) return BadOption("layers", s.num_layers, ">= 1");
  if (!(s.num_heads >= 1)) return BadOption("heads", s.num_heads, ">= 1");
  if (!(s.intermediate_size >= 1)) return BadOption("intermediate", s.intermediate_size, ">= 1");
  if (s.hidden_size % s.num_heads != 0 || (s.hidden_size / s.num_heads) % 2 != 0) {
    return BadOption("heads", s.num_heads,
                     absl::StrCat("a count that splits hidden ", s.hidden_size,
                                  " into an even head dimension per head"));
  }
  if (!(o.steps >= 1)) return BadOption("steps", o.steps, ">= 1");
  if (!(o.batch_size >= 1)) return BadOption("batch", o.batch_size, ">= 1");
  if (!(o.learning_rate > 0)) return BadOption("lr", o.learning_rate, "> 0");
  if (!(o.warmup_steps >= 0)) return BadOption("warmup", o.warmup_steps, ">= 0");
  if (!(o.weight_decay >= 0)) return BadOption("weight_decay", o.weight_decay, ">= 0");
  if (!(o.context_loss_weight >= 0)) {
    return BadOption("context_loss", o.context_loss_weight, ">= 0");
  }
  if (!(o.curriculum_fraction >= 0 && o.curriculum_fraction <= 1)) {
    return BadOption("curriculum", o.curriculum_fraction, "a fraction in [0, 1]");
  }
  if (!(o.max_seconds >= 0)) return BadOption("max_minutes", o.max_seconds / 60, ">= 0");
  if (!(o.eval_every >= 0)) {
    return BadOption("eval_every", o.eval_every, ">= 0 (0: only at the end)");
  }
  const GraphCorpusOptions& c = o.corpus;
  if (c.min_nodes < kMinNodes || c.max_nodes > kMaxNodes || c.min_nodes > c.max_nodes) {
    return absl::InvalidArgumentError(absl::StrCat("graph sizes ", c.min_nodes, "..", c.max_nodes,
                                                   " outside ", kMinNodes, "..", kMaxNodes));
  }
  if (!(c.expected_degree >= 0)) return BadOption("degree", c.expected_degree, ">= 0");
  if (!(c.parent_hint_fraction >= 0 && c.parent_hint_fraction <= 1)) {
    return BadOption("parent_hints", c.parent_hint_fraction, "a fraction in [0, 1]");
  }
  if (o.added_layers < 0 || (o.added_layers > 0 && o.init_from.empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "added layers ", o.added_layers, ": layers are added to a checkpoint (--init-from)"));
  }
  if (o.eval_graphs < 1 || o.eval_nodes < kMinNodes || o.eval_nodes > kMaxNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluation on ", o.eval_graphs, " graphs of ", o.eval_nodes, " nodes"));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json GraphTextTokenizerJson(NameScheme names) {
  nlohmann::json json = ByteLevelTokenizerJson({"<|begin_of_text|>"}, GraphTextWords(names));
  // Pieces start at each space (except the one after "->") instead of at the GPT-2 pattern's
  // letter/punctuation boundaries, so "Parents of Q:" ends in one token naming Q, and in
  // "A -> Q" the child's token " -> Q" follows its parent's: both questions become a lookup
  // of the token before or after a matching one, the pattern small transformers learn first.
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"},
                              {"pattern", {{"Regex", "(?<!->) "}}},
                              {"behavior", "MergedWithNext"},
                              {"invert", false}},
                             {{"type", "ByteLevel"},
                              {"add_prefix_space", false},
                              {"trim_offsets", false},
                              {"use_regex", false}}}}};
  return json;
}

nlohmann::json ToyLlamaConfigJson(const ToyModelShape& shape, int64_t vocab_size) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", vocab_size},
          {"hidden_size", shape.hidden_size},
          {"intermediate_size", shape.intermediate_size},
          {"num_hidden_layers", shape.num_layers},
          {"num_attention_heads", shape.num_heads},
          {"num_key_value_heads", shape.num_heads},
          {"head_dim", shape.hidden_size / shape.num_heads},
          {"hidden_act", "silu"},
          {"max_position_embeddings", 1024},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"rope_scaling", nullptr},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"tie_word_embeddings", false},
          {"initializer_range",
           shape.init_std > 0 ? shape.init_std : 1.0 / std::sqrt(shape.hidden_size)},
          {"bos_token_id", 256},
          {"eos_token_id", 256},
          {"torch_dtype", "bfloat16"}};
}

nlohmann::json LmTrainOptions::ToJson() const {
  return {{"shape",
           {{"hidden_size", shape.hidden_size},
            {"num_layers", shape.num_layers},
            {"num_heads", shape.num_heads},
            {"intermediate_size", shape.intermediate_size}}},
          {"corpus", corpus.ToJson()},
          {"steps", steps},
          {"batch_size", batch_size},
          {"learning_rate", learning_rate},
          {"warmup_steps", warmup_steps},
          {"weight_decay", weight_decay},
          {"clip_norm", clip_norm},
          {"context_loss_weight", context_loss_weight},
          {"curriculum_fraction", curriculum_fraction},
          {"seed", seed},
          {"init_from", init_from},
          {"added_layers", added_layers},
          {"device", device.str()}};
}

absl::StatusOr<ParentAccuracy> EvaluateParentAnswers(const DecoderModel& model,
                                                     const Tokenizer& tokenizer,
                                                     const GraphCorpusOptions& corpus,
                                                     int num_graphs, int num_nodes, uint64_t seed) {
  c10::InferenceMode inference;
  constexpr int kBatch = 32;
  ParentAccuracy result;
  int64_t right_sets = 0, right_tokens = 0, tokens = 0;
  std::vector<double> graph_rates;  // exact parent sets per (notation, graph)
  for (Notation notation : DistinctNotations(corpus.notations)) {
    GraphCorpusOptions one = corpus;
    one.notations.assign(1, notation);
    one.parent_hint_fraction = 0;  // the questions alone, as probes' texts have no hints
    SeededRandom random = SeededRandom::Stream(seed, kEvalStream);
    int64_t notation_questions = 0, notation_right = 0;
    for (int start = 0; start < num_graphs; start += kBatch) {
      const int count = std::min(kBatch, num_graphs - start);
      GP_ASSIGN_OR_RETURN(GraphTextBatch batch,
                          DrawBatch(one, tokenizer, count, num_nodes, num_nodes, random));
      GP_ASSIGN_OR_RETURN(auto prediction, PredictNext(model, batch));
      // Counted on the host, where the answer index lives.
      prediction = {prediction.first.argmax(-1).to(at::kCPU), prediction.second.to(at::kCPU)};
      const at::Tensor answer = batch.answer_index.narrow(1, 1, batch.answer_index.size(1) - 1);
      const at::Tensor is_answer = answer >= 0;
      const at::Tensor wrong = prediction.first.ne(prediction.second).logical_and(is_answer);
      // Wrong tokens per (row, question); a question is right with none.
      const at::Tensor key =
          (at::arange(count, at::kLong).unsqueeze(1) * num_nodes + answer.clamp_min(0));
      const at::Tensor wrong_per_question =
          at::zeros({count * num_nodes}, at::kLong)
              .index_add_(0, key.masked_select(is_answer),
                          wrong.masked_select(is_answer).to(at::kLong));
      notation_questions += count * num_nodes;
      notation_right += wrong_per_question.eq(0).sum().item<int64_t>();
      const at::Tensor graph_right = wrong_per_question.view({count, num_nodes}).eq(0).sum(1);
      const auto right_of_graph = graph_right.accessor<int64_t, 1>();
      for (int64_t g = 0; g < count; ++g) {
        graph_rates.push_back(static_cast<double>(right_of_graph[g]) / num_nodes);
      }
      // An answer of k >= 1 parents is 2k tokens (" A", ",", ..., "."), "none." is 2: the
      // token count tells the parents apart, except 0 from 1.
      const at::Tensor tokens_per_question =
          at::zeros({count * num_nodes}, at::kLong)
              .index_add_(0, key.masked_select(is_answer),
                          is_answer.masked_select(is_answer).to(at::kLong));
      const auto question_tokens = tokens_per_question.accessor<int64_t, 1>();
      const auto question_wrong = wrong_per_question.accessor<int64_t, 1>();
      for (int64_t q = 0; q < question_tokens.size(0); ++q) {
        auto& [right, asked] = result.by_parent_count[std::max<int64_t>(1, question_tokens[q] / 2)];
        right += question_wrong[q] == 0;
        ++asked;
      }
      tokens += is_answer.sum().item<int64_t>();
      right_tokens += is_answer.sum().item<int64_t>() - wrong.sum().item<int64_t>();
    }
    result.parent_sets_by_notation[NotationName(notation)] =
        static_cast<double>(notation_right) / notation_questions;
    result.questions += static_cast<int>(notation_questions);
    right_sets += notation_right;
  }
  result.parent_sets = static_cast<double>(right_sets) / std::max(1, result.questions);
  if (graph_rates.size() > 1) {
    double sum_squares = 0;
    for (double rate : graph_rates) {
      sum_squares += (rate - result.parent_sets) * (rate - result.parent_sets);
    }
    const double n = static_cast<double>(graph_rates.size());
    result.parent_sets_interval = 1.96 * std::sqrt(sum_squares / (n - 1) / n);
  }
  result.answer_tokens = static_cast<double>(right_tokens) / std::max<int64_t>(1, tokens);
  return result;
}

absl::StatusOr<LmTrainResult> TrainGraphLm(
    const LmTrainOptions& options, const Tokenizer& tokenizer,
    const std::function<void(const LmTrainProgress&)>& on_progress) {
  GP_RETURN_IF_ERROR(ValidateOptions(options));
  const auto bos = tokenizer.TokenToId("<|begin_of_text|>");
  if (!bos || *bos != 256) {
    return absl::InvalidArgumentError("the tokenizer is not a graph-text tokenizer (no BOS 256)");
  }
  int64_t vocab_size = 0;
  for (int32_t id = 0; !tokenizer.IdToToken(id).empty(); ++id) vocab_size = id + 1;
  nlohmann::json config_json = ToyLlamaConfigJson(options.shape, vocab_size);
  if (!options.init_from.empty()) {
    GP_ASSIGN_OR_RETURN(config_json, ReadJsonFile(options.init_from + "/config.json"));
    if (options.added_layers > 0) {
      GP_ASSIGN_OR_RETURN(
          config_json,
          ConfigWithAddedLayers(std::move(config_json), options.added_layers, options.init_from));
    }
  }
  GP_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(config_json, "toy config"));
  if (config.vocab_size != vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.init_from, ": vocab_size ", config.vocab_size, ", the tokenizer has ", vocab_size));
  }
  ModelOptions model_options;
  model_options.device = options.device;
  GP_ASSIGN_OR_RETURN(
      DecoderModel model,
      options.init_from.empty()  ? DecoderModel::RandomInit(config, model_options, options.seed)
      : options.added_layers > 0 ? LoadWithAddedLayers(options.init_from, options.added_layers,
                                                       options.seed, model_options)
                                 : DecoderModel::Load(options.init_from, model_options));

  std::vector<at::Tensor> params;
  for (auto& [name, p] : model.NamedParameters()) params.push_back(p.requires_grad_(true));
  AdamOptions adam_options;
  adam_options.learning_rate = options.learning_rate;
  adam_options.weight_decay = options.weight_decay;
  adam_options.decoupled_weight_decay = true;
  adam_options.beta2 = 0.98;
  Adam adam(params, adam_options);

  SeededRandom random = SeededRandom::Stream(options.seed, kTrainStream);
  std::vector<double> losses;
  ParentAccuracy accuracy;
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (int step = 0; step < options.steps; ++step) {
    const double progress_before = TrainingProgress(options, step, elapsed());
    const int max_nodes = CurriculumMaxNodes(options, progress_before);
    GP_ASSIGN_OR_RETURN(GraphTextBatch batch,
                        DrawBatch(options.corpus, tokenizer, options.batch_size,
                                  options.corpus.min_nodes, max_nodes, random));
    GP_ASSIGN_OR_RETURN(auto prediction, PredictNext(model, batch));
    const int64_t length = batch.input_ids.size(1);
    // Answers and parent hints are trained; evaluations count answers only.
    const at::Tensor is_target =
        batch.answer_index.narrow(1, 1, length - 1).ne(-1).reshape({-1}).to(options.device);
    const at::Tensor token_loss = at::cross_entropy_loss(
        prediction.first.reshape({-1, prediction.first.size(-1)}), prediction.second.reshape({-1}),
        /*weight=*/{}, at::Reduction::None);
    const at::Tensor target_loss = token_loss.masked_select(is_target).mean();
    at::Tensor loss = target_loss;
    if (options.context_loss_weight > 0) {
      const at::Tensor is_context = batch.attention_mask.narrow(1, 1, length - 1)
                                        .reshape({-1})
                                        .to(options.device)
                                        .gt(0)
                                        .logical_and(is_target.logical_not());
      loss = loss + options.context_loss_weight * token_loss.masked_select(is_context).mean();
    }
    loss.backward();
    ClipGradientNorm(params, options.clip_norm);
    const double lr = LearningRate(options, step, progress_before);
    adam.set_learning_rate(lr);
    adam.Step();
    losses.push_back(target_loss.item<double>());
    if (!std::isfinite(losses.back())) {
      return absl::InternalError(absl::StrCat("training diverged at step ", step + 1,
                                              " (loss not finite): lower the learning rate"));
    }

    LmTrainProgress progress{step + 1, options.steps, losses.back(), lr, max_nodes, elapsed(), {}};
    const bool last = TrainingProgress(options, step + 1, progress.seconds) >= 1.0;
    if (last || (options.eval_every > 0 && (step + 1) % options.eval_every == 0)) {
      GP_ASSIGN_OR_RETURN(
          accuracy, EvaluateParentAnswers(model, tokenizer, options.corpus, options.eval_graphs,
                                          options.eval_nodes, options.seed));
      progress.evaluation = accuracy;
    }
    if (on_progress) on_progress(progress);
    if (last) break;
  }
  for (at::Tensor& p : params) p.requires_grad_(false);
  return LmTrainResult{std::move(model), std::move(config_json), std::move(losses), accuracy,
                       elapsed()};
}

}  // namespace gp
