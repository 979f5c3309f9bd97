// `graphprobe run [--spec FILE] [--out DIR]`
#include "services/cli/run_command.h"

#include <ATen/Parallel.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ablation/ablation_runner.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "services/cli/flags.h"

#ifndef GP_DEFAULT_MODEL_DIR
#define GP_DEFAULT_MODEL_DIR "models/graph-toy"
#endif

namespace gp {
namespace {

const std::vector<FlagSpec> kRunFlags = {
    {"spec", true, "ablation spec (JSON); default: the built-in ablation on the toy model"},
    {"out", true, "output directory (default graphprobe-run); a rerun resumes there"},
    {"model", true, "toy model directory for the built-in spec (default: the embedded one)"},
    {"print-spec", false, "print the spec that would run (JSON) and exit"},
    {"delete-datasets", false, "remove each dataset file once its cells are done"},
    {"threads", true, "CPU threads (default: all cores)"},
    {"help", false, "show this help"},
};

std::string Duration(double seconds) {
  if (seconds < 0) return "?";
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 3600 ? absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60)
                   : absl::StrFormat("%dm%02ds", s / 60, s % 60);
}

void PrintProgress(const AblationProgress& p) {
  if (p.stage == "dataset") {
    std::cout << absl::StrFormat("[%d/%d] building dataset %s  (elapsed %s, ETA %s)\n",
                                 p.cells_done, p.cells_total, p.current,
                                 Duration(p.elapsed_seconds), Duration(p.eta_seconds));
  } else if (p.finished != nullptr) {
    const CellResult& r = *p.finished;
    std::cout << absl::StrFormat("[%d/%d] %-70s test F1 %.3f  AUC %.3f  (%.1fs, ETA %s)\n",
                                 p.cells_done, p.cells_total, r.cell_id, r.test.f1, r.test.auc,
                                 r.probe_seconds, Duration(p.eta_seconds));
  }
  std::cout.flush();
}

// Test F1 with datasets as rows and probes (then controls) as columns.
void PrintResultsTable(const AblationSpec& spec, const std::vector<CellResult>& results) {
  std::vector<std::string> columns = spec.probes;
  if (spec.label_shuffle_control) columns.push_back("label-shuffle");
  if (spec.positional_baseline_control) columns.push_back("positional");
  std::vector<std::string> rows;
  std::map<std::string, std::map<std::string, double>> f1;
  for (const CellResult& r : results) {
    const std::string row = absl::StrFormat("%-18s n=%-2d %-8s p=%d %-7s", r.model, r.graph_size,
                                            r.notation, r.permutations, r.feature_mode);
    if (!f1.count(row)) rows.push_back(row);
    f1[row][r.control.empty() ? r.probe : r.control] = r.test.f1;
  }
  std::cout << "\ntest F1 ("
            << (spec.probe_training.task == ProbeTask::kUndirected ? "undirected" : "directed")
            << " edges)\n"
            << absl::StrFormat("%-47s", "model / graph size / notation / perms / mode");
  for (const std::string& c : columns) std::cout << absl::StrFormat(" %13s", c);
  std::cout << "\n";
  for (const std::string& row : rows) {
    std::cout << row;
    for (const std::string& c : columns) {
      auto it = f1[row].find(c);
      std::cout << (it == f1[row].end() ? absl::StrFormat(" %13s", "-")
                                        : absl::StrFormat(" %13.3f", it->second));
    }
    std::cout << "\n";
  }
}

// Each model's mean validation F1 per head, as a layers x heads grid.
void PrintHeadRankings(const AblationSpec& spec, const std::vector<CellResult>& results) {
  for (const AblationModel& model : spec.models) {
    const std::vector<HeadScore> ranking = ModelHeadRanking(results, model.name);
    if (ranking.empty()) continue;
    int64_t layers = 0, heads = 0;
    std::map<std::pair<int64_t, int64_t>, double> grid;
    for (const HeadScore& h : ranking) {
      layers = std::max(layers, h.layer + 1);
      heads = std::max(heads, h.head + 1);
      grid[{h.layer, h.head}] = h.val_f1;
    }
    std::cout << "\nhead ranking, " << model.name
              << " (mean validation F1 of the per-head probe; rows layers, columns heads)\n";
    for (int64_t l = 0; l < layers; ++l) {
      std::cout << absl::StrFormat("  L%-3d", l);
      for (int64_t h = 0; h < heads; ++h) std::cout << absl::StrFormat(" %5.3f", grid[{l, h}]);
      std::cout << "\n";
    }
    std::cout << absl::StrFormat("  best: layer %d head %d (F1 %.3f)\n", ranking[0].layer,
                                 ranking[0].head, ranking[0].val_f1);
  }
}

absl::Status Run(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(int64_t threads, flags.Int("threads", 0));
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  AblationSpec spec;
  if (flags.Has("spec")) {
    GP_ASSIGN_OR_RETURN(spec, ReadAblationSpec(flags.Get("spec", "")));
  } else {
    const std::string model = flags.Get("model", GP_DEFAULT_MODEL_DIR);
    if (!std::filesystem::exists(std::filesystem::path(model) / "config.json")) {
      return absl::NotFoundError(absl::StrCat(
          "no toy model at ", model, " (train one with `graphprobe train-lm --out ", model, "`)"));
    }
    spec = DefaultAblationSpec(model);
  }
  if (flags.Has("print-spec")) {
    std::cout << spec.ToJson().dump(2) << "\n";
    return absl::OkStatus();
  }
  AblationRunOptions options;
  options.out_dir = flags.Get("out", "graphprobe-run");
  options.delete_datasets = flags.Has("delete-datasets");
  const size_t cells = ExpandAblation(spec).size();
  std::cout << "ablation '" << spec.name << "': " << cells << " cells -> " << options.out_dir
            << std::endl;
  GP_ASSIGN_OR_RETURN(std::vector<CellResult> results, RunAblation(spec, options, PrintProgress));
  PrintResultsTable(spec, results);
  PrintHeadRankings(spec, results);
  std::cout << "\nwrote " << options.out_dir << "/results.csv, results.json, heads-<model>.csv\n";
  return absl::OkStatus();
}

}  // namespace

int RunRunCommand(const std::vector<std::string>& args) {
  return RunSubcommand(
      "run",
      "usage: graphprobe run [--spec FILE] [--out DIR]\n"
      "Runs an ablation (models x graphs x notations x feature modes x probes, with controls)\n"
      "in one process and writes results.csv, results.json and the head ranking per model.",
      kRunFlags, args, std::cout, Run);
}

}  // namespace gp
