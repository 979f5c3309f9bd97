// `graphprobe report RESULTS_DIR [--out FILE]`: the self-contained HTML report of a results
// directory (common/report).
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunReportCommand(std::vector<std::string> args);

}  // namespace gp
