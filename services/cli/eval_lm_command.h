// `graphprobe eval-lm`: the held-out accuracy table of a graph-text model (the model card's).
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunEvalLmCommand(const std::vector<std::string>& args);

}  // namespace gp
