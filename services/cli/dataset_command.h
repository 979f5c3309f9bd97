// `graphprobe dataset`: random graphs -> prompts -> tokens -> attention -> node-pair features,
// written as a dataset file (DESIGN.md), with a progress line on a terminal and resume.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunDatasetCommand(const std::vector<std::string>& args);

}  // namespace gp
