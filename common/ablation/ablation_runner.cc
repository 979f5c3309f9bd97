// The single-machine ablation loop, its resumable results log and its result tables.
#include "common/ablation/ablation_runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/probe/dataset.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Results already in OUT/results.jsonl, by cell id. A torn last line (a crash mid-write) is
// dropped: that cell simply runs again.
absl::StatusOr<std::map<std::string, CellResult>> ReadResultsLog(const std::string& path) {
  std::map<std::string, CellResult> done;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      if (in.peek() == EOF) break;  // the torn last line
      return absl::DataLossError(absl::StrCat(path, ":", number, ": not a JSON line"));
    }
    absl::StatusOr<CellResult> result = CellResult::FromJson(j);
    if (!result.ok()) return Annotate(result.status(), absl::StrCat(path, ":", number));
    done[result->cell_id] = *std::move(result);
  }
  return done;
}

absl::Status AppendResult(const std::string& path, const CellResult& result) {
  std::ofstream out(path, std::ios::app);
  out << result.ToJson().dump() << "\n";
  if (!out.flush()) return absl::InternalError(absl::StrCat("cannot append to ", path));
  return absl::OkStatus();
}

// OUT/spec.json fixes what OUT holds: a different spec is refused instead of mixed in.
absl::Status ClaimOutDir(const AblationSpec& spec, const std::string& out_dir) {
  std::error_code error;
  fs::create_directories(fs::path(out_dir) / "datasets", error);
  if (error)
    return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", error.message()));
  const std::string spec_path = (fs::path(out_dir) / "spec.json").string();
  if (fs::exists(spec_path)) {
    GP_ASSIGN_OR_RETURN(Json existing, ReadJsonFile(spec_path));
    if (existing != spec.ToJson()) {
      return absl::FailedPreconditionError(
          absl::StrCat(out_dir, " holds the results of a different spec (", spec_path,
                       "); choose another output directory or remove it"));
    }
    return absl::OkStatus();
  }
  return WriteJsonFile(spec_path, spec.ToJson());
}

CellResult DescribeCell(const AblationCell& cell) {
  CellResult r;
  r.cell_id = cell.id;
  r.dataset_id = cell.dataset_id;
  r.model = cell.model_name;
  r.probe = cell.probe;
  r.control = ProbeControlName(cell.control);
  r.graph_size = cell.dataset.generator.num_nodes;
  r.permutations = cell.dataset.permutations;
  r.graphs = cell.dataset.num_graphs;
  r.generator = GeneratorKindName(cell.dataset.generator.kind);
  r.notation = NotationName(cell.dataset.prompt.notation);
  r.names = NameSchemeName(cell.dataset.names);
  r.feature_mode = FeatureModeName(cell.dataset.features);
  r.seed = cell.dataset.seed;
  return r;
}

std::string DatasetPath(const std::string& out_dir, const std::string& dataset_id) {
  return (fs::path(out_dir) / "datasets" /
          (absl::StrReplaceAll(dataset_id, {{"/", "__"}, {":", "-"}}) + ".safetensors"))
      .string();
}

// Writes results.csv, summary.csv, results.json and heads-<model>.csv.
absl::Status WriteResultTables(const AblationSpec& spec, const std::string& out_dir,
                               const std::vector<CellResult>& results) {
  const fs::path root(out_dir);
  GP_RETURN_IF_ERROR(WriteTextFile((root / "results.csv").string(), ResultsCsv(results)));
  GP_RETURN_IF_ERROR(
      WriteTextFile((root / "summary.csv").string(), SummaryCsv(SummarizeOverSeeds(results))));
  Json cells = Json::array();
  for (const CellResult& r : results) cells.push_back(r.ToJson());
  Json heads = Json::object();
  for (const AblationModel& model : spec.models) {
    const std::vector<HeadScore> ranking = ModelHeadRanking(results, model.name);
    if (ranking.empty()) continue;
    Json list = Json::array();
    for (const HeadScore& h : ranking) {
      list.push_back(
          {{"layer", h.layer}, {"head", h.head}, {"val_auc", h.val_auc}, {"val_f1", h.val_f1}});
    }
    heads[model.name] = list;
    GP_RETURN_IF_ERROR(WriteTextFile((root / absl::StrCat("heads-", model.name, ".csv")).string(),
                                     HeadRankingCsv(ranking)));
  }
  return WriteJsonFile((root / "results.json").string(),
                       {{"spec", spec.ToJson()}, {"cells", cells}, {"head_ranking", heads}});
}

}  // namespace

absl::StatusOr<std::vector<CellResult>> RunAblation(
    const AblationSpec& spec, const AblationRunOptions& options,
    const std::function<void(const AblationProgress&)>& on_progress) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("no output directory");
  GP_RETURN_IF_ERROR(ClaimOutDir(spec, options.out_dir));
  const std::string log_path = (fs::path(options.out_dir) / "results.jsonl").string();
  GP_ASSIGN_OR_RETURN(auto done, ReadResultsLog(log_path));

  const std::vector<AblationCell> cells = ExpandAblation(spec);
  AblationProgress progress;
  progress.cells_total = static_cast<int>(cells.size());
  for (const AblationCell& cell : cells) progress.cells_resumed += done.count(cell.id);
  progress.cells_done = progress.cells_resumed;
  const auto start = std::chrono::steady_clock::now();
  const auto report = [&](const std::string& stage, const std::string& current,
                          const CellResult* finished) {
    if (!on_progress) return;
    progress.stage = stage;
    progress.current = current;
    progress.finished = finished;
    progress.elapsed_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int ran = progress.cells_done - progress.cells_resumed;
    progress.eta_seconds =
        ran > 0 ? progress.elapsed_seconds / ran * (progress.cells_total - progress.cells_done)
                : -1;
    on_progress(progress);
  };

  std::vector<CellResult> results;
  std::string loaded_id;
  ModelCache models(2);  // a model and its random-init twin stay loaded across families
  ProbeDataset data;
  for (size_t i = 0; i < cells.size(); ++i) {
    const AblationCell& cell = cells[i];
    if (options.cancel != nullptr && options.cancel->load()) {
      return absl::CancelledError("ablation cancelled");
    }
    if (auto it = done.find(cell.id); it != done.end()) {
      results.push_back(it->second);
      continue;
    }
    const std::string dataset_path = DatasetPath(options.out_dir, cell.dataset_id);
    if (loaded_id != cell.dataset_id) {
      if (!fs::exists(dataset_path)) {
        // Extract once, pool many: this dataset and the later ones of its family (other feature
        // modes) that still have cells to run come from one forward pass. A family's cells are
        // adjacent in the grid, so the scan stops where the family ends.
        std::vector<DatasetSpec> family;
        std::vector<std::string> paths;
        const nlohmann::json family_json = cell.dataset.FamilyJson();
        for (size_t j = i; j < cells.size(); ++j) {
          const AblationCell& other = cells[j];
          if (j > i && (!options.share_forward_passes || other.model_name != cell.model_name ||
                        other.dataset.FamilyJson() != family_json)) {
            break;
          }
          const std::string path = DatasetPath(options.out_dir, other.dataset_id);
          if (done.count(other.id) || std::find(paths.begin(), paths.end(), path) != paths.end() ||
              fs::exists(path)) {
            continue;
          }
          family.push_back(other.dataset);
          paths.push_back(path);
        }
        report("dataset", cell.dataset_id, nullptr);
        const auto dataset_start = std::chrono::steady_clock::now();
        DatasetBuildOptions build;
        build.cache = &models;
        build.cancel = options.cancel;
        GP_RETURN_IF_ERROR(Annotate(BuildDatasets(family, paths, build), cell.dataset_id));
        progress.dataset_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - dataset_start).count();
      }
      GP_ASSIGN_OR_RETURN(data, LoadProbeDataset(dataset_path));
      loaded_id = cell.dataset_id;
    }
    report("probe", cell.id, nullptr);
    TrainOptions training = cell.training;
    ApplyFeatureLayout(data, &training.probe);
    const auto probe_start = std::chrono::steady_clock::now();
    absl::StatusOr<TrainResult> trained = TrainProbe(data, training);
    if (!trained.ok()) return Annotate(trained.status(), cell.id);
    CellResult result = DescribeCell(cell);
    result.val = trained->val;
    result.test = trained->test;
    result.test_interval = trained->test_interval;
    result.best_epoch = trained->best_epoch;
    result.head_ranking = trained->head_ranking;
    result.probe_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - probe_start).count();
    progress.probe_seconds += result.probe_seconds;
    GP_RETURN_IF_ERROR(AppendResult(log_path, result));
    results.push_back(result);
    ++progress.cells_done;
    report("probe", cell.id, &results.back());

    const bool last_of_dataset =
        i + 1 == cells.size() || cells[i + 1].dataset_id != cell.dataset_id;
    if (options.delete_datasets && last_of_dataset) fs::remove(dataset_path);
  }
  GP_RETURN_IF_ERROR(WriteResultTables(spec, options.out_dir, results));
  report("done", "", nullptr);
  return results;
}

}  // namespace gp
