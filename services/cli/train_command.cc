// `graphprobe train --data FILE --probe pair-mlp|graph-mlp|gcn|logreg-head --out DIR ...`
#include "services/cli/train_command.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/tensor_io.h"
#include "common/probe/trainer.h"
#include "common/probe/training_artifacts.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kTrainFlags = {
    {"data", true, "dataset file (graphprobe dataset)"},
    {"probe", true,
     "pair-mlp (default), graph-mlp, gcn, logreg-head (per layer and head), logreg-layer (per "
     "layer)"},
    {"out", true, "output folder"},
    {"task", true, "undirected (default) or directed"},
    {"control", true,
     "control-task (labels a fixed random function of the two node names), label-shuffle (each "
     "graph gets another graph's adjacency) or positional (features: token offsets between the "
     "two nodes' mentions)"},
    {"epochs", true, "default 200"},
    {"lr", true, "learning rate (default 1e-3)"},
    {"batch", true, "graphs per step (default 128)"},
    {"hidden", true, "hidden size (default 4096)"},
    {"layers", true, "hidden layers (default 2)"},
    {"dropout", true, "default 0"},
    {"weight-decay", true, "default 0"},
    {"pos-weight", true, "positive-class weight; 0 = negatives/positives (default 1)"},
    {"patience", true,
     "early stopping after N epochs without a better validation F1 (default off)"},
    {"seed", true, "default 42"},
    {"help", false, "show this help"},
};

// Truth vs prediction of one graph as two adjacency matrices side by side.
std::string SamplePrediction(const at::Tensor& truth, const at::Tensor& probabilities,
                             int64_t graph_id) {
  std::string out = absl::StrFormat("graph %d   truth | predicted\n", graph_id);
  const int64_t n = truth.size(0);
  for (int64_t i = 0; i < n; ++i) {
    std::string left, right;
    for (int64_t j = 0; j < n; ++j) {
      absl::StrAppend(&left, truth[i][j].item<float>() > 0.5f ? "1 " : ". ");
      absl::StrAppend(&right, probabilities[i][j].item<float>() > 0.5f ? "1 " : ". ");
    }
    absl::StrAppend(&out, "  ", left, "| ", right, "\n");
  }
  return out;
}

absl::Status RunTrain(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(std::string data_path, flags.Required("data"));
  GP_ASSIGN_OR_RETURN(std::string out_dir, flags.Required("out"));
  GP_ASSIGN_OR_RETURN(ProbeDataset data, LoadProbeDataset(data_path));
  TrainOptions o;
  o.probe.kind = flags.Get("probe", "pair-mlp");
  GP_ASSIGN_OR_RETURN(o.task, ParseProbeTask(flags.Get("task", "undirected")));
  const std::string control = flags.Get("control", "");
  GP_ASSIGN_OR_RETURN(o.control, ParseProbeControl(control));
  GP_ASSIGN_OR_RETURN(o.epochs, flags.Int32("epochs", 200));
  GP_ASSIGN_OR_RETURN(o.batch_size, flags.Int32("batch", 128));
  GP_ASSIGN_OR_RETURN(o.probe.hidden, flags.Int32("hidden", 4096));
  GP_ASSIGN_OR_RETURN(o.probe.layers, flags.Int32("layers", 2));
  GP_ASSIGN_OR_RETURN(o.patience, flags.Int32("patience", 0));
  GP_ASSIGN_OR_RETURN(o.seed, flags.Seed("seed", 42));
  GP_ASSIGN_OR_RETURN(o.learning_rate, flags.Double("lr", 1e-3));
  GP_ASSIGN_OR_RETURN(o.probe.dropout, flags.Double("dropout", 0));
  GP_ASSIGN_OR_RETURN(o.weight_decay, flags.Double("weight-decay", 0));
  GP_ASSIGN_OR_RETURN(o.positive_weight, flags.Double("pos-weight", 1));
  ApplyFeatureLayout(data, &o.probe);

  const bool terminal = ::isatty(STDERR_FILENO);
  GP_ASSIGN_OR_RETURN(
      TrainResult result, TrainProbe(data, o, [&](const EpochRecord& r) {
        if (terminal) {
          std::cerr << absl::StrFormat(
                           "\r  epoch %d/%d  train loss %.4f  val loss %.4f  val F1 %.3f   ",
                           r.epoch, o.epochs, r.train_loss, r.val.loss, r.val.f1)
                    << std::flush;
        }
      }));
  if (terminal) std::cerr << "\n";

  GP_RETURN_IF_ERROR(WriteTrainingArtifacts(data, o, result,
                                            {{"probe", o.probe.kind},
                                             {"task", flags.Get("task", "undirected")},
                                             {"control", control.empty() ? "none" : control},
                                             {"data", data_path},
                                             {"seed", o.seed}},
                                            out_dir));
  const at::Tensor test_adjacency = result.labels_used.index_select(0, result.test_indices);
  std::cout << absl::StrFormat("%s on %s (%s): best epoch %d\n", o.probe.kind, data_path,
                               flags.Get("task", "undirected"), result.best_epoch);
  std::cout << absl::StrFormat("  val  F1 %.3f  AUC %.3f  accuracy %.3f  exact graphs %.3f\n",
                               result.val.f1, result.val.auc, result.val.accuracy,
                               result.val.exact);
  std::cout << absl::StrFormat(
      "  test F1 %.3f [%.3f, %.3f]  AUC %.3f [%.3f, %.3f]  accuracy %.3f  exact graphs %.3f  "
      "(95%% bootstrap over test graphs)\n",
      result.test.f1, result.test_interval.f1_low, result.test_interval.f1_high, result.test.auc,
      result.test_interval.auc_low, result.test_interval.auc_high, result.test.accuracy,
      result.test.exact);
  if (!result.head_ranking.empty()) {
    std::cout << "  best outputs (layer.head, validation AUC):";
    for (size_t i = 0; i < std::min<size_t>(5, result.head_ranking.size()); ++i) {
      const auto& h = result.head_ranking[i];
      std::cout << absl::StrFormat(" %d.%d %.3f", h.layer, h.head, h.val_auc);
    }
    std::cout << "\n";
  }
  for (int64_t k = 0; k < std::min<int64_t>(2, result.test_indices.size(0)); ++k) {
    std::cout << SamplePrediction(
        test_adjacency[k], result.test_probabilities[k],
        data.graph_id[result.test_indices[k].item<int64_t>()].item<int64_t>());
  }
  std::cout
      << "wrote " << out_dir
      << "/{metrics.json,training_history.csv,best_model.safetensors,predictions.safetensors}\n";
  return absl::OkStatus();
}

}  // namespace

int RunTrainCommand(const std::vector<std::string>& args) {
  return RunSubcommand(
      "train", "graphprobe train --data FILE --probe KIND --out DIR [flags]", kTrainFlags, args,
      std::cout, [&](const Flags& flags) { return RunTrain(flags); },
      {{"batch_size", "--batch"}, {"learning_rate", "--lr"}, {"positive_weight", "--pos-weight"}});
}

}  // namespace gp
