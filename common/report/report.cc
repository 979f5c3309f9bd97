#include "common/report/report.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/report/report_template.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// A CSV file graphprobe wrote (a header line, no quoting, no commas inside fields) as an array
// of objects; fields that parse as numbers become numbers.
absl::StatusOr<Json> CsvObjects(const std::string& name, const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": empty, expected a header"));
  }
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  Json rows = Json::array();
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(lines[i], ',');
    if (fields.size() != header.size()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", i + 1, ": ", fields.size(),
                                                     " fields, the header has ", header.size()));
    }
    Json row = Json::object();
    for (size_t k = 0; k < header.size(); ++k) {
      double number;
      if (!fields[k].empty() && absl::SimpleAtod(fields[k], &number)) {
        row[header[k]] = number;
      } else {
        row[header[k]] = fields[k];
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Text inside a <script>: only "</script" ends it early; in JSON every "</" can be escaped.
std::string ScriptSafe(const std::string& script) {
  return absl::StrReplaceAll(script, {{"</script", "<\\/script"}, {"</SCRIPT", "<\\/SCRIPT"}});
}
std::string JsonScriptSafe(const std::string& json) {
  return absl::StrReplaceAll(json, {{"</", "<\\/"}});
}

// Mean validation AUC of every (layer, head) of the per-head probe's real-task cells, by model
// and notation: {model: {notation: [{layer, head, mean_val_auc}]}}. Which head finds parents
// can depend on how the graph is written, and the all-settings mean hides it.
Json HeadsByNotation(const Json& cells) {
  std::map<std::tuple<std::string, std::string, int64_t, int64_t>, std::pair<double, int>> sums;
  const auto text = [](const Json& cell, const char* key) {
    return cell.contains(key) && cell[key].is_string() ? cell[key].get<std::string>() : "";
  };
  for (const Json& cell : cells) {
    if (!cell.is_object() || text(cell, "probe") != "logreg-head" ||
        !text(cell, "control").empty() || !cell.contains("head_ranking") ||
        !cell["head_ranking"].is_array()) {
      continue;
    }
    for (const Json& h : cell["head_ranking"]) {
      if (!h.is_object() || !h.contains("layer") || !h["layer"].is_number_integer() ||
          !h.contains("head") || !h["head"].is_number_integer() || !h.contains("val_auc") ||
          !h["val_auc"].is_number()) {
        continue;
      }
      auto& [sum, count] = sums[{text(cell, "model"), text(cell, "notation"),
                                 h["layer"].get<int64_t>(), h["head"].get<int64_t>()}];
      sum += h["val_auc"].get<double>();
      ++count;
    }
  }
  Json out = Json::object();
  for (const auto& [key, sum] : sums) {
    const auto& [model, notation, layer, head] = key;
    out[model][notation].push_back(
        {{"layer", layer}, {"head", head}, {"mean_val_auc", sum.first / sum.second}});
  }
  return out;
}

}  // namespace

absl::StatusOr<Json> ReportDataFromFiles(const ReportFiles& files) {
  const auto file = [&](const std::string& name) -> absl::StatusOr<const std::string*> {
    auto it = files.find(name);
    if (it == files.end()) return absl::NotFoundError(absl::StrCat(name, ": missing"));
    return &it->second;
  };
  const auto json_of = [](const std::string& name,
                          const std::string& text) -> absl::StatusOr<Json> {
    Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(name, ": not JSON"));
    return json;
  };
  Json data = Json::object();
  GP_ASSIGN_OR_RETURN(const std::string* results_text, file("results.json"));
  GP_ASSIGN_OR_RETURN(Json results, json_of("results.json", *results_text));
  if (!results.is_object() || !results.contains("spec") || !results.contains("cells") ||
      !results["cells"].is_array()) {
    return absl::InvalidArgumentError("results.json: expected an object with 'spec' and 'cells'");
  }
  data["spec"] = std::move(results["spec"]);
  data["cells"] = results["cells"].size();
  data["heads_by_notation"] = HeadsByNotation(results["cells"]);
  // Each cell's settings with its curve and test graphs, the first kMaxReportCellDetails.
  data["cell_details"] = Json::array();
  for (Json& cell : results["cells"]) {
    if (data["cell_details"].size() == kMaxReportCellDetails) break;
    if (!cell.is_object()) {
      return absl::InvalidArgumentError("results.json: 'cells' holds a non-object");
    }
    Json detail = Json::object();
    for (const char* key :
         {"cell_id", "model", "graph_size", "notation", "permutations", "feature_mode", "probe",
          "control", "seed", "best_epoch", "history", "test_samples"}) {
      if (cell.contains(key)) detail[key] = std::move(cell[key]);
    }
    if (cell.contains("test") && cell["test"].is_object() && cell["test"].contains("f1")) {
      detail["test_f1"] = cell["test"]["f1"];
    }
    data["cell_details"].push_back(std::move(detail));
  }
  GP_ASSIGN_OR_RETURN(const std::string* summary, file("summary.csv"));
  GP_ASSIGN_OR_RETURN(data["summary"], CsvObjects("summary.csv", *summary));
  data["heads"] = Json::object();
  data["attention"] = Json::object();
  for (const auto& [name, text] : files) {
    if (absl::StartsWith(name, "heads-") && absl::EndsWith(name, ".csv")) {
      const std::string model = name.substr(6, name.size() - 6 - 4);
      GP_ASSIGN_OR_RETURN(data["heads"][model], CsvObjects(name, text));
    } else if (absl::StartsWith(name, "attention-") && absl::EndsWith(name, ".json")) {
      const std::string model = name.substr(10, name.size() - 10 - 5);
      GP_ASSIGN_OR_RETURN(data["attention"][model], json_of(name, text));
    }
  }
  return data;
}

absl::StatusOr<Json> ReadReportData(const std::string& results_dir) {
  const fs::path dir(results_dir);
  ReportFiles files;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    const bool wanted = name == "results.json" || name == "summary.csv" ||
                        (absl::StartsWith(name, "heads-") && absl::EndsWith(name, ".csv")) ||
                        (absl::StartsWith(name, "attention-") && absl::EndsWith(name, ".json"));
    if (!wanted) continue;
    GP_ASSIGN_OR_RETURN(files[name], ReadTextFile(entry.path().string()));
  }
  if (error) return absl::NotFoundError(absl::StrCat(results_dir, ": ", error.message()));
  absl::StatusOr<Json> data = ReportDataFromFiles(files);
  if (!data.ok()) return Annotate(data.status(), results_dir);
  return data;
}

std::string HtmlEscape(const std::string& text) {
  return absl::StrReplaceAll(text,
                             {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string ReportDataScript(const Json& data) {
  return JsonScriptSafe(data.dump(-1, ' ', false, Json::error_handler_t::replace));
}

absl::StatusOr<std::string> RenderReport(const Json& data, const std::string& title,
                                         const std::string& assets_dir) {
  // A library file with its license as a leading comment, ready for a <script>.
  const auto asset = [&](const std::string& package) -> absl::StatusOr<std::string> {
    const fs::path path = fs::path(assets_dir) / (package + ".min.js");
    absl::StatusOr<std::string> script = ReadTextFile(path.string());
    if (!script.ok()) {
      return absl::NotFoundError(absl::StrCat(path.string(),
                                              ": not found; fetch the plotting library with `bash "
                                              "scripts/fetch_web_assets.sh ",
                                              assets_dir, "` (or set GRAPHPROBE_WEB_ASSETS)"));
    }
    absl::StatusOr<std::string> license =
        ReadTextFile((fs::path(assets_dir) / ("LICENSE-" + package)).string());
    return ScriptSafe(
        absl::StrCat("/* ", package, " (inlined by graphprobe), license:\n",
                     license.ok() ? absl::StrReplaceAll(*license, {{"*/", "* /"}}) : "BSD-3-Clause",
                     "\n*/\n", *script));
  };
  GP_ASSIGN_OR_RETURN(const std::string vega, asset("vega"));
  GP_ASSIGN_OR_RETURN(const std::string vega_lite, asset("vega-lite"));
  GP_ASSIGN_OR_RETURN(const std::string vega_embed, asset("vega-embed"));
  // One pass: nothing inserted is searched for placeholders again.
  return absl::StrReplaceAll(kReportTemplate, {{"/*GP_TITLE*/", HtmlEscape(title)},
                                               {"/*GP_DATA*/", ReportDataScript(data)},
                                               {"/*GP_VEGA*/", vega},
                                               {"/*GP_VEGA_LITE*/", vega_lite},
                                               {"/*GP_VEGA_EMBED*/", vega_embed}});
}

absl::Status WriteReport(const std::string& results_dir, const std::string& out_path,
                         const std::string& assets_dir) {
  GP_ASSIGN_OR_RETURN(Json data, ReadReportData(results_dir));
  const Json& spec = data["spec"];
  const std::string title = spec.is_object() && spec.contains("name") && spec["name"].is_string()
                                ? spec["name"].get<std::string>()
                                : fs::path(results_dir).filename().string();
  GP_ASSIGN_OR_RETURN(std::string html, RenderReport(data, title, assets_dir));
  return WriteTextFile(out_path, html);
}

std::string DefaultWebAssetsDir() {
  if (const char* dir = std::getenv("GRAPHPROBE_WEB_ASSETS"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  return GP_WEB_ASSETS_DIR;
}

}  // namespace gp
