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
#include "common/ablation/local_cell_executor.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/probe/training_artifacts.h"

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

}  // namespace

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

std::vector<std::pair<std::string, std::string>> ResultFiles(
    const AblationSpec& spec, const std::vector<CellResult>& results) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"results.csv", ResultsCsv(results)},
      {"summary.csv", SummaryCsv(SummarizeOverSeeds(results))}};
  Json cells = Json::array();
  for (const CellResult& r : results) cells.push_back(r.ToJson());
  Json heads = Json::object();
  for (const AblationModel& model : spec.models) {
    const std::vector<HeadScore> ranking = ModelHeadRanking(results, model.name);
    if (ranking.empty()) continue;
    heads[model.name] = HeadRankingJson(ranking);
    files.push_back({absl::StrCat("heads-", model.name, ".csv"), HeadRankingCsv(ranking)});
  }
  files.push_back(
      {"results.json",
       Json({{"spec", spec.ToJson()}, {"cells", cells}, {"head_ranking", heads}}).dump(2) + "\n"});
  return files;
}

absl::StatusOr<std::vector<CellResult>> RunAblation(
    const AblationSpec& spec, const AblationRunOptions& options,
    const std::function<void(const AblationProgress&)>& on_progress) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("no output directory");
  GP_RETURN_IF_ERROR(ClaimOutDir(spec, options.out_dir));
  const std::string log_path = (fs::path(options.out_dir) / "results.jsonl").string();
  GP_ASSIGN_OR_RETURN(auto done, ReadResultsLog(log_path));

  const std::vector<AblationCell> cells = ExpandAblation(spec);
  SchedulerOptions scheduling;
  for (const auto& [id, result] : done) scheduling.done.insert(id);
  scheduling.share_forward_passes = options.share_forward_passes;
  scheduling.cancel = options.cancel;
  scheduling.stop_at_first_failure = true;
  LocalExecutorOptions local;
  local.datasets_dir = (fs::path(options.out_dir) / "datasets").string();
  local.delete_datasets = options.delete_datasets;
  LocalCellExecutor executor(local);
  GP_RETURN_IF_ERROR(RunCells(
      cells, executor, scheduling,
      [&](const CellResult& result) {
        GP_RETURN_IF_ERROR(AppendResult(log_path, result));
        done[result.cell_id] = result;
        return absl::OkStatus();
      },
      nullptr, on_progress));

  std::vector<CellResult> results;
  for (const AblationCell& cell : cells) results.push_back(done.at(cell.id));
  for (const auto& [name, content] : ResultFiles(spec, results)) {
    GP_RETURN_IF_ERROR(WriteTextFile((fs::path(options.out_dir) / name).string(), content));
  }
  return results;
}

}  // namespace gp
