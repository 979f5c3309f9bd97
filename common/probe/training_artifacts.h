// What one probe training leaves behind, in the files `graphprobe train` writes and the trainer
// service serves: metrics.json (validation and test metrics, test interval, threshold, best
// epoch, head ranking, the training curve and a few test graphs for the report),
// tensorboard/ (the curve as TensorBoard scalars), training_history.csv (a row per epoch),
// best_model.safetensors (the selected parameters) and predictions.safetensors (test probabilities,
// the labels used, graph ids).
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
inline constexpr char kTensorBoardDir[] = "tensorboard";

// Test graphs in a result's `test_samples`: enough to draw, few enough that an ablation of
// 100000 cells still carries them.
inline constexpr int kTestSampleGraphs = 2;
// Epochs in a result's `history`: longer trainings are thinned evenly (first, best and last
// epoch always kept).
inline constexpr int kMaxHistoryPoints = 100;

// The metrics.json object; `about` (probe, task, data, ...) is merged in.
nlohmann::json TrainingMetricsJson(const ProbeDataset& data, const TrainOptions& options,
                                   const TrainResult& result, const nlohmann::json& about);
nlohmann::json HeadRankingJson(const std::vector<HeadScore>& ranking);

// The training curve as columns: {"epoch": [...], "train_loss": [...], "val_loss": [...],
// "val_f1": [...], "val_auc": [...]}, at most kMaxHistoryPoints epochs, 4 significant digits;
// validation values are null where the probe did not validate (logistic: before the end).
nlohmann::json HistoryJson(const std::vector<EpochRecord>& history, int best_epoch);

// The first `count` test graphs (by position in the dataset) as the probe saw them:
// [{"graph_id", "task", "adjacency": N x N truth after any control (i -> j), "probability":
// N x N of the task's pairs (undirected: symmetric, both directions' logits averaged), an edge
// predicted where it exceeds 0.5}], N the graph's real nodes.
nlohmann::json TestSamplesJson(const ProbeDataset& data, const TrainOptions& options,
                               const TrainResult& result, int count = kTestSampleGraphs);
std::string TrainingHistoryCsv(const std::vector<EpochRecord>& history);

// The curve (train/loss, validation/{loss,f1,auc} per epoch) and the test metrics (test/f1,
// test/auc at the chosen epoch) as a TensorBoard event file in `dir`.
absl::Status WriteTensorBoardScalars(const TrainResult& result, const std::string& dir);

// Writes the files and tensorboard/ into `out_dir` (created if missing).
absl::Status WriteTrainingArtifacts(const ProbeDataset& data, const TrainOptions& options,
                                    const TrainResult& result, const nlohmann::json& about,
                                    const std::string& out_dir);

}  // namespace gp
