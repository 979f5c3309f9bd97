// `graphprobe run`: the whole ablation in one process (datasets, probes, controls, result
// tables), on the built-in default spec over the embedded toy model or on a spec file.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunRunCommand(const std::vector<std::string>& args);

}  // namespace gp
