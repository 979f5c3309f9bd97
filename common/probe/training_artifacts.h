// What one probe training leaves behind, in the files `graphprobe train` writes and the trainer
// service serves: metrics.json (validation and test metrics, test interval, threshold, best
// epoch, head ranking), training_history.csv (a row per epoch), best_model.safetensors (the
// selected parameters) and predictions.safetensors (test probabilities, the labels used, graph
// ids).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/probe/dataset.h"
#include "common/probe/trainer.h"
#include "nlohmann/json.hpp"

namespace gp {

inline constexpr char kMetricsFile[] = "metrics.json";
inline constexpr char kHistoryFile[] = "training_history.csv";
inline constexpr char kModelFile[] = "best_model.safetensors";
inline constexpr char kPredictionsFile[] = "predictions.safetensors";

// The metrics.json object; `about` (probe, task, data, ...) is merged in.
nlohmann::json TrainingMetricsJson(const TrainResult& result, const nlohmann::json& about);
nlohmann::json HeadRankingJson(const std::vector<HeadScore>& ranking);
std::string TrainingHistoryCsv(const std::vector<EpochRecord>& history);

// Writes the four files into `out_dir` (created if missing).
absl::Status WriteTrainingArtifacts(const ProbeDataset& data, const TrainOptions& options,
                                    const TrainResult& result, const nlohmann::json& about,
                                    const std::string& out_dir);

}  // namespace gp
