// libFuzzer target: arbitrary bytes as a results directory's files (results.json, summary.csv,
// heads-m.csv, attention-m.json, split at "\n--\n"). Reading them either fails with a status or
// yields data the report embeds: its JSON serializes (invalid UTF-8 replaced, never thrown) and
// cannot end the page's <script> early.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/report/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> parts = absl::StrSplit(input, "\n--\n");
  const char* names[] = {"results.json", "summary.csv", "heads-m.csv", "attention-m.json"};
  gp::ReportFiles files;
  for (size_t i = 0; i < parts.size() && i < 4; ++i) files[names[i]] = parts[i];
  const absl::StatusOr<nlohmann::json> report = gp::ReportDataFromFiles(files);
  if (!report.ok()) return 0;
  const std::string embedded = gp::ReportDataScript(*report);
  if (embedded.find("</") != std::string::npos) __builtin_trap();
  return 0;
}
