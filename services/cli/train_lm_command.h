// `graphprobe train-lm`: train the small graph-reading language model (graphprobe's embedded
// default) and save it in the Hugging Face layout with a model card.
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunTrainLmCommand(const std::vector<std::string>& args);

}  // namespace gp
