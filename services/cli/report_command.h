// `graphprobe report RESULTS_DIR [--out FILE]`: the self-contained HTML report of a results
// directory (common/report).
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunReportCommand(std::vector<std::string> args);

// RESULTS_DIR/report.html after a command that wrote results there (`run`, `results`): its
// path printed, or, the results standing without it, a warning naming `command` and why.
void WriteReportBesideResults(const std::string& results_dir, const std::string& command);

}  // namespace gp
