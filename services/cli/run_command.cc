// `graphprobe run [--spec FILE] [--out DIR]`
#include "services/cli/run_command.h"

#include <ATen/Parallel.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ablation/ablation_runner.h"
#include "common/ablation/attention_sample.h"
#include "common/core/hash.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/rpc/metrics.h"
#include "common/rpc/status.h"
#include "services/cli/coordinator_client.h"
#include "services/cli/flags.h"
#include "services/cli/report_command.h"
#include "services/cluster/embedded_cluster.h"

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
    {"delete-datasets", false, "remove the dataset files once the run is done"},
    {"threads", true, "CPU threads (default: all cores)"},
    {"trainer-jobs", true, "probes training at once (default 1)"},
    {"metrics-listen", true, "serve the services' Prometheus metrics on host:port while running"},
    {"direct", false,
     "run the cells in this thread without the services (the scheduler on the local executor; "
     "for measuring what the services cost)"},
    {"separate-extraction", false,
     "with --direct: one forward pass per dataset instead of one per family of feature modes"},
    {"cuda-graphs", false,
     "the extractor pads forward passes to shapes that repeat and replays them from CUDA graphs "
     "(not with --direct)"},
    {"help", false, "show this help"},
};

void PrintProgress(const AblationProgress& p) {
  if (p.stage == "done") {
    std::cout << absl::StrFormat(
        "done in %s: building datasets %.1f s, training probes %.1f s (this run; resumed cells "
        "excluded)\n",
        FormatDuration(p.elapsed_seconds), p.dataset_seconds, p.probe_seconds);
  } else if (p.stage == "dataset") {
    std::cout << absl::StrFormat("[%d/%d] building dataset %s  (elapsed %s, ETA %s)\n",
                                 p.cells_done, p.cells_total, p.current,
                                 FormatDuration(p.elapsed_seconds), FormatDuration(p.eta_seconds));
  } else if (p.finished != nullptr) {
    const CellResult& r = *p.finished;
    std::cout << absl::StrFormat("[%d/%d] %-70s test F1 %.3f  AUC %.3f  (%.1fs, ETA %s)\n",
                                 p.cells_done, p.cells_total, r.cell_id, r.test.f1, r.test.auc,
                                 r.probe_seconds, FormatDuration(p.eta_seconds));
  }
  std::cout.flush();
}

std::string Interval(double mean, double low, double high) {
  return absl::StrFormat("%.3f [%.3f,%.3f]", mean, low, high);
}

// Mean test F1 over seeds with its 95% interval: settings as rows, probes as columns, then the
// selectivity (real minus control task) of each probe and the positional baseline.
void PrintResultsTable(const AblationSpec& spec, const std::vector<ConfigSummary>& summaries) {
  std::vector<std::string> rows;
  std::map<std::string, std::map<std::string, const ConfigSummary*>> cells;
  for (const ConfigSummary& s : summaries) {
    const CellResult& r = s.settings;
    const std::string row = absl::StrFormat("%-18s n=%-2d %-8s p=%d %-17s", r.model, r.graph_size,
                                            r.notation, r.permutations, r.feature_mode);
    if (!cells.count(row)) rows.push_back(row);
    cells[row][r.control.empty() ? r.probe : r.probe + "/" + r.control] = &s;
  }
  std::cout << "\ntest F1 ("
            << (spec.probe_training.task == ProbeTask::kUndirected ? "undirected" : "directed")
            << " edges), mean over " << spec.seeds.size()
            << " seed(s) [95% interval]; sel = minus the control task\n"
            << absl::StrFormat("%-57s", "model / graph size / notation / perms / mode");
  for (const std::string& probe : spec.probes) {
    std::cout << absl::StrFormat(" %21s", probe);
    if (spec.control_task) std::cout << absl::StrFormat(" %6s", "sel");
  }
  if (spec.positional_baseline_control) std::cout << absl::StrFormat(" %21s", "positional");
  std::cout << "\n";
  for (const std::string& row : rows) {
    std::cout << row;
    for (const std::string& probe : spec.probes) {
      auto it = cells[row].find(probe);
      if (it == cells[row].end()) {
        std::cout << absl::StrFormat(" %21s", "-");
        if (spec.control_task) std::cout << absl::StrFormat(" %6s", "-");
        continue;
      }
      const ConfigSummary& s = *it->second;
      std::cout << " " << Interval(s.test_f1, s.test_f1_low, s.test_f1_high);
      if (spec.control_task) {
        std::cout << (s.selectivity_f1 ? absl::StrFormat(" %+6.3f", *s.selectivity_f1)
                                       : absl::StrFormat(" %6s", "-"));
      }
    }
    if (spec.positional_baseline_control) {
      auto it = cells[row].find(spec.probes[0] + "/positional");
      std::cout << (it == cells[row].end()
                        ? absl::StrFormat(" %21s", "-")
                        : " " + Interval(it->second->test_f1, it->second->test_f1_low,
                                         it->second->test_f1_high));
    }
    std::cout << "\n";
  }
}

// Per model and graph size: the configuration with the best mean validation F1, its test F1
// (reported once, never used to choose) and the controls beside it.
void PrintSelected(const AblationSpec& spec, const std::vector<ConfigSummary>& summaries) {
  std::cout << "\nselected by validation F1 (test F1 reported once, with its controls)\n";
  for (const AblationModel& model : spec.models) {
    for (int size : spec.graph_sizes) {
      const std::optional<ConfigSummary> best = BestByValidation(summaries, model.name, size);
      if (!best) continue;
      const CellResult& r = best->settings;
      std::cout << absl::StrFormat("  %-18s n=%-2d %s %s p=%d %s: val F1 %.3f, test F1 %s",
                                   model.name, size, r.probe, r.notation, r.permutations,
                                   r.feature_mode, best->val_f1,
                                   Interval(best->test_f1, best->test_f1_low, best->test_f1_high));
      for (const std::string control : {"control-task", "positional"}) {
        if (auto c = ControlOf(summaries, *best, control)) {
          std::cout << absl::StrFormat("; %s %s", control,
                                       Interval(c->test_f1, c->test_f1_low, c->test_f1_high));
        }
      }
      std::cout << "\n";
    }
  }
}

// Each model's mean validation AUC per head (the per-head probe), as a layers x heads grid.
void PrintHeadRankings(const AblationSpec& spec, const std::vector<CellResult>& results) {
  for (const AblationModel& model : spec.models) {
    const std::vector<HeadScore> ranking = ModelHeadRanking(results, model.name);
    if (ranking.empty()) continue;
    int64_t layers = 0, heads = 0;
    std::map<std::pair<int64_t, int64_t>, double> grid;
    for (const HeadScore& h : ranking) {
      layers = std::max(layers, h.layer + 1);
      heads = std::max(heads, h.head + 1);
      grid[{h.layer, h.head}] = h.val_auc;
    }
    std::cout << "\nheads, " << model.name
              << " (mean validation AUC of the per-head probe; rows layers, columns heads)\n";
    for (int64_t l = 0; l < layers; ++l) {
      std::cout << absl::StrFormat("  L%-3d", l);
      for (int64_t h = 0; h < heads; ++h) std::cout << absl::StrFormat(" %5.3f", grid[{l, h}]);
      std::cout << "\n";
    }
    std::cout << absl::StrFormat("  best: layer %d head %d (AUC %.3f)\n", ranking[0].layer,
                                 ranking[0].head, ranking[0].val_auc);
  }
}

// The deepest directory holding every model of the spec: the embedded extractor's model root.
std::string CommonModelRoot(const AblationSpec& spec) {
  std::filesystem::path root;
  for (const AblationModel& model : spec.models) {
    const std::filesystem::path dir =
        std::filesystem::absolute(model.path).lexically_normal().parent_path();
    if (root.empty()) {
      root = dir;
      continue;
    }
    std::filesystem::path common;
    for (auto a = root.begin(), b = dir.begin(); a != root.end() && b != dir.end() && *a == *b;
         ++a, ++b) {
      common /= *a;
    }
    root = common;
  }
  return root.string();
}

// The spec through the services: an embedded cluster under OUT/cluster (a rerun resumes from
// its state), the ablation submitted and watched, its result files fetched into OUT. `options`:
// the cluster's settings but its directories (set here).
absl::StatusOr<std::vector<CellResult>> RunThroughServices(const AblationSpec& spec,
                                                           const std::string& out_dir,
                                                           bool delete_datasets,
                                                           EmbeddedClusterOptions options,
                                                           const std::string& metrics_listen) {
  namespace pb = graphprobe::v1;
  GP_RETURN_IF_ERROR(ClaimOutDir(spec, out_dir));
  // Model paths as a cluster sees them: relative to the extractor's model root.
  AblationSpec submitted = spec;
  const std::string root = CommonModelRoot(spec);
  for (AblationModel& model : submitted.models) {
    model.path =
        std::filesystem::absolute(model.path).lexically_normal().lexically_relative(root).string();
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!metrics_listen.empty()) {
    GP_ASSIGN_OR_RETURN(metrics, MetricsEndpoint::Start(metrics_listen));
    std::cout << "metrics on " << metrics->address() << std::endl;
  }
  options.state_dir = (std::filesystem::path(out_dir) / "cluster").string();
  options.model_root = root;
  GP_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedCluster> cluster, EmbeddedCluster::Start(options));
  auto stub = CoordinatorStub(cluster->coordinator_address());
  pb::CreateAblationRequest request;
  request.set_spec_json(submitted.ToJson().dump());
  request.set_request_id(absl::StrFormat("run-%016x", Fnv1a64(request.spec_json())));
  pb::Ablation ablation;
  {
    grpc::ClientContext context;
    SetDeadline(&context, kCoordinatorCallSeconds);
    const grpc::Status status = stub->CreateAblation(&context, request, &ablation);
    if (!status.ok()) return FromGrpcStatus(status, "spec");
  }
  std::cout << "coordinator " << cluster->coordinator_address() << ": ablation " << ablation.id()
            << std::endl;
  GP_ASSIGN_OR_RETURN(ablation, WatchAblation(*stub, ablation.id(), std::cout));
  // The finished cells' files even when some failed: nothing computed is lost.
  GP_RETURN_IF_ERROR(DownloadResults(*stub, ablation.id(), out_dir).status());
  GP_RETURN_IF_ERROR(AblationOutcome(ablation));
  std::cout << absl::StrFormat("done in %.1f s\n", ablation.elapsed_seconds());
  cluster.reset();
  if (delete_datasets) {
    for (const char* dir : {"features/datasets", "trainer/datasets"}) {
      std::error_code ignored;
      std::filesystem::remove_all(std::filesystem::path(options.state_dir) / dir, ignored);
    }
  }
  // The cells of results.json, also as results.jsonl (a line each), as the direct run writes.
  const std::string json_path = (std::filesystem::path(out_dir) / "results.json").string();
  GP_ASSIGN_OR_RETURN(nlohmann::json all, ReadJsonFile(json_path));
  std::vector<CellResult> results;
  std::string lines;
  for (const nlohmann::json& cell : all.at("cells")) {
    GP_ASSIGN_OR_RETURN(CellResult result, CellResult::FromJson(cell));
    results.push_back(std::move(result));
    absl::StrAppend(&lines, cell.dump(), "\n");
  }
  GP_RETURN_IF_ERROR(
      WriteTextFile((std::filesystem::path(out_dir) / "results.jsonl").string(), lines));
  return results;
}

absl::Status Run(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(const int threads, CpuThreadsFlag(flags));
  if (threads > 0) at::set_num_threads(threads);
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
  const std::string out_dir = flags.Get("out", "graphprobe-run");
  const bool direct = flags.Has("direct") || flags.Has("separate-extraction");
  if (direct && flags.Has("cuda-graphs")) {
    return absl::InvalidArgumentError(
        "--cuda-graphs: replaying is the services' extractor's; not with --direct or "
        "--separate-extraction");
  }
  const size_t cells = ExpandAblation(spec).size();
  std::cout << "ablation '" << spec.name << "': " << cells << " cells -> " << out_dir
            << (direct ? " (direct)" : " (through the services)") << std::endl;
  std::vector<CellResult> results;
  if (direct) {
    AblationRunOptions options;
    options.out_dir = out_dir;
    options.delete_datasets = flags.Has("delete-datasets");
    options.share_forward_passes = !flags.Has("separate-extraction");
    GP_ASSIGN_OR_RETURN(results, RunAblation(spec, options, PrintProgress));
  } else {
    GP_ASSIGN_OR_RETURN(const int64_t trainer_jobs, flags.IntIn("trainer-jobs", 1, 1, 64));
    EmbeddedClusterOptions cluster;
    cluster.trainer_jobs = static_cast<int>(trainer_jobs);
    cluster.cuda_graphs = flags.Has("cuda-graphs");
    GP_ASSIGN_OR_RETURN(results, RunThroughServices(spec, out_dir, flags.Has("delete-datasets"),
                                                    cluster, flags.Get("metrics-listen", "")));
  }
  const std::vector<ConfigSummary> summaries = SummarizeOverSeeds(results);
  PrintResultsTable(spec, summaries);
  PrintSelected(spec, summaries);
  PrintHeadRankings(spec, results);
  std::cout << "\nwrote " << out_dir
            << "/results.csv, summary.csv, results.json, heads-<model>.csv\n";
  // The results stand without the report: a missing plotting library or a failed attention
  // sample is a warning, not a failed run.
  if (const absl::Status sampled = WriteAttentionSamples(spec, results, summaries, out_dir);
      !sampled.ok()) {
    std::cerr << "graphprobe run: no attention sample: " << sampled.message() << "\n";
  }
  WriteReportBesideResults(out_dir, "run");
  return absl::OkStatus();
}

}  // namespace

int RunRunCommand(const std::vector<std::string>& args) {
  return RunSubcommand(
      "run",
      "usage: graphprobe run [--spec FILE] [--out DIR]\n"
      "Runs an ablation (models x graphs x notations x feature modes x probes, with controls)\n"
      "through the four services started in this process (the cluster's code path) and writes\n"
      "results.csv, results.json and the head ranking per model. A rerun resumes.",
      kRunFlags, args, std::cout, Run);
}

}  // namespace gp
