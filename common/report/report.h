// The HTML report of an ablation's results directory (what `graphprobe run` and
// `graphprobe results` write): one self-contained file, Vega-Lite and the data inlined, nothing
// fetched at view time. Sections: the ablation, the results table (sortable, filterable, with
// intervals and selectivity), effect plots with the controls beside the real task, and the
// layers x heads heatmaps. No libtorch.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

// The files of a results directory the report reads, by name: results.json (the spec and every
// cell, with its training curve and test samples), summary.csv, heads-MODEL.csv and
// attention-MODEL.json (one prompt's attention, written by `graphprobe run`).
using ReportFiles = std::map<std::string, std::string>;

// Cells whose training curves and test graphs the report carries: beyond this it would grow
// past what a browser opens comfortably (the table and plots still cover every cell).
inline constexpr size_t kMaxReportCellDetails = 2000;

// What the report shows, from `files` (others ignored). InvalidArgument naming the file (and
// line) for a missing or malformed one.
absl::StatusOr<nlohmann::json> ReportDataFromFiles(const ReportFiles& files);

// ReportDataFromFiles over the files of `results_dir`.
absl::StatusOr<nlohmann::json> ReadReportData(const std::string& results_dir);

// Text safe inside HTML elements and quoted attributes (& < > " escaped).
std::string HtmlEscape(const std::string& text);

// `data` as the page's <script> embeds it: JSON whose invalid UTF-8 (a CSV field is any bytes)
// is replaced, never thrown, and in which no "</" can end the script.
std::string ReportDataScript(const nlohmann::json& data);

// The report's HTML for `data` (from ReportDataFromFiles), with vega.min.js, vega-lite.min.js and
// vega-embed.min.js (and their licenses) from `assets_dir` inlined; NotFound naming the file and
// how to fetch it when one is missing.
absl::StatusOr<std::string> RenderReport(const nlohmann::json& data, const std::string& title,
                                         const std::string& assets_dir);

// ReadReportData + RenderReport, written to `out_path` (through a temporary file).
absl::Status WriteReport(const std::string& results_dir, const std::string& out_path,
                         const std::string& assets_dir);

// Where the plotting library is: $GRAPHPROBE_WEB_ASSETS, else the build's copy
// (scripts/fetch_web_assets.sh fetches it there).
std::string DefaultWebAssetsDir();

}  // namespace gp
