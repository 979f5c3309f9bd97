// `graphprobe train`: train a probe on a dataset file and report how well attention predicts
// the graph (metrics.json, training_history.csv, best_model.pt, predictions.safetensors).
#pragma once

#include <string>
#include <vector>

namespace gp {

int RunTrainCommand(const std::vector<std::string>& args);

}  // namespace gp
