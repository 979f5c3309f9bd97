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

Json MetricsJson(const EdgeMetrics& m) { return m.ToJson(); }

EdgeMetrics MetricsFromJson(const Json& j) {
  EdgeMetrics m;
  m.loss = j.value("loss", 0.0);
  m.accuracy = j.value("accuracy", 0.0);
  m.precision = j.value("precision", 0.0);
  m.recall = j.value("recall", 0.0);
  m.f1 = j.value("f1", 0.0);
  m.auc = j.value("auc", 0.5);
  m.exact = j.value("exact", 0.0);
  m.pairs = j.value("pairs", int64_t{0});
  return m;
}

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
                       "); choose another --out or remove it"));
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
  r.control = CellControlName(cell.control);
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

// Writes results.csv, results.json and heads-<model>.csv.
absl::Status WriteResultTables(const AblationSpec& spec, const std::string& out_dir,
                               const std::vector<CellResult>& results) {
  const fs::path root(out_dir);
  GP_RETURN_IF_ERROR(WriteTextFile((root / "results.csv").string(), ResultsCsv(results)));
  Json cells = Json::array();
  for (const CellResult& r : results) cells.push_back(r.ToJson());
  Json heads = Json::object();
  for (const AblationModel& model : spec.models) {
    const std::vector<HeadScore> ranking = ModelHeadRanking(results, model.name);
    if (ranking.empty()) continue;
    Json list = Json::array();
    std::ostringstream csv;
    csv << "rank,layer,head,mean_val_f1,mean_val_auc\n";
    for (size_t i = 0; i < ranking.size(); ++i) {
      const HeadScore& h = ranking[i];
      list.push_back(
          {{"layer", h.layer}, {"head", h.head}, {"val_f1", h.val_f1}, {"val_auc", h.val_auc}});
      csv << absl::StrFormat("%d,%d,%d,%.4f,%.4f\n", i + 1, h.layer, h.head, h.val_f1, h.val_auc);
    }
    heads[model.name] = list;
    GP_RETURN_IF_ERROR(
        WriteTextFile((root / absl::StrCat("heads-", model.name, ".csv")).string(), csv.str()));
  }
  return WriteJsonFile((root / "results.json").string(),
                       {{"spec", spec.ToJson()}, {"cells", cells}, {"head_ranking", heads}});
}

}  // namespace

Json CellResult::ToJson() const {
  Json heads = Json::array();
  for (const HeadScore& h : head_ranking) {
    heads.push_back(
        {{"layer", h.layer}, {"head", h.head}, {"val_f1", h.val_f1}, {"val_auc", h.val_auc}});
  }
  return {{"cell_id", cell_id},
          {"dataset_id", dataset_id},
          {"model", model},
          {"probe", probe},
          {"control", control},
          {"graph_size", graph_size},
          {"generator", generator},
          {"notation", notation},
          {"names", names},
          {"feature_mode", feature_mode},
          {"permutations", permutations},
          {"graphs", graphs},
          {"seed", seed},
          {"val", MetricsJson(val)},
          {"test", MetricsJson(test)},
          {"best_epoch", best_epoch},
          {"head_ranking", heads},
          {"probe_seconds", probe_seconds}};
}

absl::StatusOr<CellResult> CellResult::FromJson(const Json& j) {
  try {
    CellResult r;
    r.cell_id = j.at("cell_id").get<std::string>();
    r.dataset_id = j.at("dataset_id").get<std::string>();
    r.model = j.at("model").get<std::string>();
    r.probe = j.at("probe").get<std::string>();
    r.control = j.at("control").get<std::string>();
    r.graph_size = j.at("graph_size").get<int>();
    r.generator = j.at("generator").get<std::string>();
    r.notation = j.at("notation").get<std::string>();
    r.names = j.at("names").get<std::string>();
    r.feature_mode = j.at("feature_mode").get<std::string>();
    r.permutations = j.at("permutations").get<int>();
    r.graphs = j.at("graphs").get<int>();
    r.seed = j.at("seed").get<uint64_t>();
    r.val = MetricsFromJson(j.at("val"));
    r.test = MetricsFromJson(j.at("test"));
    r.best_epoch = j.at("best_epoch").get<int>();
    for (const Json& h : j.at("head_ranking")) {
      r.head_ranking.push_back({h.at("layer").get<int64_t>(), h.at("head").get<int64_t>(),
                                h.at("val_f1").get<double>(), h.at("val_auc").get<double>()});
    }
    r.probe_seconds = j.at("probe_seconds").get<double>();
    return r;
  } catch (const Json::exception& e) {
    return absl::DataLossError(absl::StrCat("cell result: ", e.what()));
  }
}

std::vector<HeadScore> ModelHeadRanking(const std::vector<CellResult>& results,
                                        const std::string& model) {
  std::map<std::pair<int64_t, int64_t>, std::pair<HeadScore, int>> sums;
  for (const CellResult& r : results) {
    if (r.model != model || !r.control.empty()) continue;
    for (const HeadScore& h : r.head_ranking) {
      auto& [sum, count] = sums[{h.layer, h.head}];
      sum.layer = h.layer;
      sum.head = h.head;
      sum.val_f1 += h.val_f1;
      sum.val_auc += h.val_auc;
      ++count;
    }
  }
  std::vector<HeadScore> ranking;
  for (auto& [key, entry] : sums) {
    HeadScore h = entry.first;
    h.val_f1 /= entry.second;
    h.val_auc /= entry.second;
    ranking.push_back(h);
  }
  std::stable_sort(ranking.begin(), ranking.end(),
                   [](const HeadScore& a, const HeadScore& b) { return a.val_f1 > b.val_f1; });
  return ranking;
}

std::string ResultsCsv(const std::vector<CellResult>& results) {
  std::ostringstream csv;
  csv << "model,graph_size,generator,notation,names,feature_mode,permutations,graphs,seed,probe,"
         "control,test_f1,test_auc,test_precision,test_recall,test_exact,val_f1,best_epoch,"
         "probe_seconds\n";
  for (const CellResult& r : results) {
    csv << absl::StrFormat(
        "%s,%d,%s,%s,%s,%s,%d,%d,%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%.2f\n", r.model,
        r.graph_size, r.generator, r.notation, r.names, r.feature_mode, r.permutations, r.graphs,
        r.seed, r.probe, r.control, r.test.f1, r.test.auc, r.test.precision, r.test.recall,
        r.test.exact, r.val.f1, r.best_epoch, r.probe_seconds);
  }
  return csv.str();
}

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
  ProbeDataset data;
  for (size_t i = 0; i < cells.size(); ++i) {
    const AblationCell& cell = cells[i];
    if (auto it = done.find(cell.id); it != done.end()) {
      results.push_back(it->second);
      continue;
    }
    const std::string dataset_path = DatasetPath(options.out_dir, cell.dataset_id);
    if (loaded_id != cell.dataset_id) {
      if (!fs::exists(dataset_path)) {
        report("dataset", cell.dataset_id, nullptr);
        GP_RETURN_IF_ERROR(Annotate(BuildDataset(cell.dataset, dataset_path), cell.dataset_id));
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
    result.best_epoch = trained->best_epoch;
    result.head_ranking = trained->head_ranking;
    result.probe_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - probe_start).count();
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
