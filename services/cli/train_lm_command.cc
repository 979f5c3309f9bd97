// `graphprobe train-lm --out models/graph-toy --steps 3000 ...`
#include "services/cli/train_lm_command.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/lm/hub_checkpoint.h"
#include "common/lm/lm_trainer.h"
#include "common/lm/model_card.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kTrainLmFlags = {
    {"out", true, "checkpoint directory to write (default models/graph-toy)"},
    {"overwrite", false,
     "replace a checkpoint already in --out that --init-from does not continue"},
    {"steps", true, "optimizer steps (default 3000)"},
    {"batch", true, "graphs per step (default 32)"},
    {"lr", true, "peak learning rate (default 3e-3)"},
    {"warmup", true, "linear warmup steps (default 100)"},
    {"weight-decay", true, "AdamW weight decay (default 0.01)"},
    {"context-loss", true, "weight of the next-token loss on the non-answer text (default 0)"},
    {"curriculum", true, "fraction of steps over which graph sizes grow (default 0.3)"},
    {"hidden", true, "hidden size (default 128)"},
    {"layers", true, "decoder layers (default 3)"},
    {"heads", true, "attention heads (default 4)"},
    {"intermediate", true, "MLP size (default 512)"},
    {"init-from", true, "continue from this checkpoint (a curriculum's earlier stage)"},
    {"add-layers", true,
     "with --init-from: decoder layers added on top, each starting as the identity (default 0)"},
    {"init-std", true, "standard deviation of the initial weights (default 1/sqrt(hidden))"},
    {"min-nodes", true, "smallest training graph (default 3)"},
    {"max-nodes", true, "largest training graph (default 10)"},
    {"notations", true,
     "comma-separated: arrow, to, parents, adjacency, labels (default arrow,parents)"},
    {"generators", true, "comma-separated: dag, tree, forest, er (default dag,tree)"},
    {"degree", true, "expected degree of the graphs (default 2)"},
    {"answer-order", true, "parents in answers by name (default) or in the text's order: text"},
    {"parent-hints", true,
     "fraction of labels texts that name each child's parent after it, trained (default 0)"},
    {"eval-graphs", true, "held-out graphs of --eval-nodes nodes (default 256)"},
    {"eval-nodes", true, "nodes of the held-out graphs (default 7)"},
    {"eval-every", true, "evaluate every N steps, 0 only at the end (default 500)"},
    {"seed", true, "seed of weights and training graphs (default 1)"},
    {"max-minutes", true,
     "time budget: stop after this long, schedule fitted to it (default none)"},
    {"threads", true, "CPU threads (default: all cores)"},
    {"device", true, "cpu (default) or cuda[:N]: where the model trains"},
    {"help", false, "show this help"},
};

absl::StatusOr<LmTrainOptions> OptionsFromFlags(const Flags& flags) {
  LmTrainOptions o;
  GP_ASSIGN_OR_RETURN(o.steps, flags.Int32("steps", o.steps));
  GP_ASSIGN_OR_RETURN(o.batch_size, flags.Int32("batch", o.batch_size));
  GP_ASSIGN_OR_RETURN(o.warmup_steps, flags.Int32("warmup", o.warmup_steps));
  GP_ASSIGN_OR_RETURN(o.shape.hidden_size, flags.Int32("hidden", o.shape.hidden_size));
  GP_ASSIGN_OR_RETURN(o.shape.num_layers, flags.Int32("layers", o.shape.num_layers));
  GP_ASSIGN_OR_RETURN(o.shape.num_heads, flags.Int32("heads", o.shape.num_heads));
  GP_ASSIGN_OR_RETURN(o.shape.intermediate_size,
                      flags.Int32("intermediate", o.shape.intermediate_size));
  GP_ASSIGN_OR_RETURN(o.corpus.min_nodes, flags.Int32("min-nodes", o.corpus.min_nodes));
  GP_ASSIGN_OR_RETURN(o.corpus.max_nodes, flags.Int32("max-nodes", o.corpus.max_nodes));
  GP_ASSIGN_OR_RETURN(o.eval_graphs, flags.Int32("eval-graphs", o.eval_graphs));
  GP_ASSIGN_OR_RETURN(o.eval_nodes, flags.Int32("eval-nodes", o.eval_nodes));
  GP_ASSIGN_OR_RETURN(o.eval_every, flags.Int32("eval-every", o.eval_every));
  GP_ASSIGN_OR_RETURN(o.seed, flags.Seed("seed", o.seed));
  GP_ASSIGN_OR_RETURN(o.added_layers, flags.Int32("add-layers", 0));
  GP_ASSIGN_OR_RETURN(o.learning_rate, flags.Double("lr", o.learning_rate));
  GP_ASSIGN_OR_RETURN(double max_minutes, flags.Double("max-minutes", 0));
  o.max_seconds = 60 * max_minutes;
  GP_ASSIGN_OR_RETURN(o.weight_decay, flags.Double("weight-decay", o.weight_decay));
  GP_ASSIGN_OR_RETURN(o.context_loss_weight, flags.Double("context-loss", 0));
  GP_ASSIGN_OR_RETURN(o.curriculum_fraction, flags.Double("curriculum", o.curriculum_fraction));
  GP_ASSIGN_OR_RETURN(o.corpus.expected_degree, flags.Double("degree", o.corpus.expected_degree));
  GP_ASSIGN_OR_RETURN(o.corpus.answer_order, ParseAnswerOrder(flags.Get("answer-order", "name")));
  GP_ASSIGN_OR_RETURN(o.corpus.parent_hint_fraction, flags.Double("parent-hints", 0));
  GP_ASSIGN_OR_RETURN(o.corpus.notations,
                      ListFlag(flags, "notations", o.corpus.notations, ParseNotation));
  GP_ASSIGN_OR_RETURN(o.corpus.generators,
                      ListFlag(flags, "generators", o.corpus.generators, ParseGeneratorKind));
  GP_ASSIGN_OR_RETURN(o.shape.init_std, flags.Double("init-std", 0));
  o.init_from = flags.Get("init-from", "");
  GP_ASSIGN_OR_RETURN(ModelOptions model_options,
                      ParseModelOptions("float32", flags.Get("device", "cpu")));
  o.device = model_options.device;
  return o;
}

// Beside the hub files: every training stage that led to the checkpoint.
constexpr char kTrainingLog[] = "training.json";

// The stages recorded in an earlier checkpoint this run continues from.
absl::StatusOr<std::vector<TrainingStage>> EarlierStages(const std::string& init_from) {
  std::vector<TrainingStage> stages;
  if (init_from.empty()) return stages;
  const std::string path = (std::filesystem::path(init_from) / kTrainingLog).string();
  if (!std::filesystem::exists(path)) return stages;
  GP_ASSIGN_OR_RETURN(nlohmann::json log, ReadJsonFile(path));
  if (!log.contains("stages") || !log["stages"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no 'stages' list"));
  }
  for (const nlohmann::json& stage : log["stages"]) {
    absl::StatusOr<TrainingStage> parsed = TrainingStage::FromJson(stage);
    if (!parsed.ok()) return Annotate(parsed.status(), path);
    stages.push_back(*std::move(parsed));
  }
  return stages;
}

std::string AccuracyLine(const ParentAccuracy& a) {
  std::vector<std::string> parts;
  for (const auto& [notation, value] : a.parent_sets_by_notation) {
    parts.push_back(absl::StrFormat("%s %.1f%%", notation, 100 * value));
  }
  return absl::StrFormat("parent sets %.1f%% (%s), answer tokens %.1f%%", 100 * a.parent_sets,
                         absl::StrJoin(parts, ", "), 100 * a.answer_tokens);
}

double MeanOf(const std::vector<double>& v, size_t begin, size_t end) {
  if (begin >= end) return 0;
  return std::accumulate(v.begin() + begin, v.begin() + end, 0.0) / (end - begin);
}

// A checkpoint already in `out` is replaced only by a run that continues it (--init-from the
// same folder) or with --overwrite: the default --out is the embedded model, hours of training,
// and a trial run must not replace it. Checked before training, not after it.
absl::Status CheckCheckpointOutput(const std::string& out, const std::string& init_from,
                                   bool overwrite) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (overwrite || !fs::exists(fs::path(out) / "config.json", error)) return absl::OkStatus();
  if (!init_from.empty() && fs::equivalent(out, init_from, error)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--out ", out,
                                                 " already holds a checkpoint: continue it with "
                                                 "--init-from ",
                                                 out, ", or replace it with --overwrite"));
}

absl::Status TrainLm(const Flags& flags, const std::vector<std::string>& args) {
  GP_ASSIGN_OR_RETURN(LmTrainOptions options, OptionsFromFlags(flags));
  GP_ASSIGN_OR_RETURN(const int threads, CpuThreadsFlag(flags));
  if (threads > 0) at::set_num_threads(threads);
  const std::string out = flags.Get("out", "models/graph-toy");
  GP_RETURN_IF_ERROR(CheckCheckpointOutput(out, options.init_from, flags.Has("overwrite")));
  const nlohmann::json tokenizer_json = GraphTextTokenizerJson(options.corpus.names);
  GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromJson(tokenizer_json));

  GP_ASSIGN_OR_RETURN(
      LmTrainResult result, TrainGraphLm(options, tokenizer, [](const LmTrainProgress& p) {
        if (p.step % 25 == 0 || p.evaluation || p.step == 1) {
          std::cout << absl::StrFormat("step %d/%d  loss %.4f  lr %.2e  nodes<=%d  %.0fs", p.step,
                                       p.steps, p.loss, p.learning_rate, p.max_nodes, p.seconds);
          if (p.evaluation) std::cout << "  held-out " << AccuracyLine(*p.evaluation);
          std::cout << std::endl;
        }
      }));

  // The card reports the weights as saved: round them to bfloat16 first.
  int64_t parameters = 0;
  {
    at::NoGradGuard no_grad;
    for (auto& [name, p] : result.model.NamedParameters()) {
      p.copy_(p.to(at::kBFloat16).to(p.scalar_type()));
      parameters += p.numel();
    }
  }
  GP_ASSIGN_OR_RETURN(ParentAccuracy saved_accuracy,
                      EvaluateParentAnswers(result.model, tokenizer, options.corpus,
                                            options.eval_graphs, options.eval_nodes, options.seed));
  ModelCardFacts facts;
  // A continued stage has the shape of the checkpoint it started from, not of the flags.
  options.shape.hidden_size = result.config["hidden_size"].get<int>();
  options.shape.num_layers = result.config["num_hidden_layers"].get<int>();
  options.shape.num_heads = result.config["num_attention_heads"].get<int>();
  options.shape.intermediate_size = result.config["intermediate_size"].get<int>();
  // The table asks in every notation the model was trained on (`eval-lm --notations`).
  AccuracyTableOptions table_options;
  table_options.notations = DistinctNotations(options.corpus.notations);
  GP_ASSIGN_OR_RETURN(
      facts.table, EvaluateAccuracyTable(result.model, tokenizer, options.corpus, table_options));
  std::cout << AccuracyTableMarkdown(facts.table);
  facts.name = std::filesystem::path(out).filename().string();
  facts.options = options;
  facts.accuracy = saved_accuracy;
  facts.parameters = parameters;
  facts.vocab_size = result.config["vocab_size"].get<int64_t>();
  GP_ASSIGN_OR_RETURN(facts.stages, EarlierStages(options.init_from));
  const size_t n = result.losses.size(), window = std::min<size_t>(50, n);
  facts.stages.push_back(
      {absl::StrCat("graphprobe train-lm ", absl::StrJoin(args, " ")),
       DescribeTrainingStage(options, static_cast<int>(n), result.seconds,
                             MeanOf(result.losses, 0, window), MeanOf(result.losses, n - window, n),
                             options.device.is_cpu()
                                 ? absl::StrCat(at::get_num_threads(), " CPU threads, float32")
                                 : absl::StrCat(options.device.str(), ", float32")),
       result.seconds});
  nlohmann::json stages = nlohmann::json::array();
  for (const TrainingStage& stage : facts.stages) stages.push_back(stage.ToJson());
  GP_RETURN_IF_ERROR(SaveHubCheckpoint(out, result.model,
                                       {result.config, tokenizer_json, ModelCardMarkdown(facts)}));

  GP_RETURN_IF_ERROR(
      WriteJsonFile((std::filesystem::path(out) / kTrainingLog).string(), {{"stages", stages}}));

  // Read it back the way every checkpoint is read, and check it answers the same.
  GP_ASSIGN_OR_RETURN(DecoderModel reloaded, DecoderModel::Load(out, {}));
  GP_ASSIGN_OR_RETURN(
      Tokenizer reloaded_tokenizer,
      Tokenizer::FromFile((std::filesystem::path(out) / "tokenizer.json").string()));
  GP_ASSIGN_OR_RETURN(ParentAccuracy reloaded_accuracy,
                      EvaluateParentAnswers(reloaded, reloaded_tokenizer, options.corpus,
                                            options.eval_graphs, options.eval_nodes, options.seed));
  std::cout << "saved " << out << " (" << parameters << " parameters, bfloat16), trained in "
            << absl::StrFormat("%.1f min", result.seconds / 60) << "\n"
            << "held-out, as saved: " << AccuracyLine(saved_accuracy) << "\n"
            << "held-out, reloaded: " << AccuracyLine(reloaded_accuracy) << std::endl;
  if (std::abs(reloaded_accuracy.parent_sets - saved_accuracy.parent_sets) > 1e-9) {
    return absl::InternalError("the reloaded checkpoint answers differently from the saved one");
  }
  return absl::OkStatus();
}

}  // namespace

int RunTrainLmCommand(const std::vector<std::string>& args) {
  return RunSubcommand("train-lm",
                       "usage: graphprobe train-lm [--out models/graph-toy] [--steps N] ...\n"
                       "Trains a small Llama-family model to read graphs as text and answer parent "
                       "questions,\nand saves it in the Hugging Face layout with a model card.",
                       kTrainLmFlags, args, std::cout,
                       [&](const Flags& flags) { return TrainLm(flags, args); });
}

}  // namespace gp
