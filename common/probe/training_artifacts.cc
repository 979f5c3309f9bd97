// The files of one probe training.
#include "common/probe/training_artifacts.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/tensor_io.h"

namespace gp {

nlohmann::json HeadRankingJson(const std::vector<HeadScore>& ranking) {
  nlohmann::json list = nlohmann::json::array();
  for (const HeadScore& h : ranking) {
    list.push_back(
        {{"layer", h.layer}, {"head", h.head}, {"val_auc", h.val_auc}, {"val_f1", h.val_f1}});
  }
  return list;
}

nlohmann::json TrainingMetricsJson(const TrainResult& result, const nlohmann::json& about) {
  nlohmann::json metrics = {{"val", result.val.ToJson()},
                            {"test", result.test.ToJson()},
                            {"test_interval", result.test_interval.ToJson()},
                            {"threshold", result.threshold},
                            {"best_epoch", result.best_epoch},
                            {"head_ranking", HeadRankingJson(result.head_ranking)}};
  metrics.update(about);
  return metrics;
}

std::string TrainingHistoryCsv(const std::vector<EpochRecord>& history) {
  std::string csv =
      "epoch,train_loss,val_loss,val_accuracy,val_precision,val_recall,val_f1,val_auc\n";
  for (const EpochRecord& r : history) {
    absl::StrAppend(&csv, absl::StrFormat("%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", r.epoch,
                                          r.train_loss, r.val.loss, r.val.accuracy, r.val.precision,
                                          r.val.recall, r.val.f1, r.val.auc));
  }
  return csv;
}

absl::Status WriteTrainingArtifacts(const ProbeDataset& data, const TrainOptions& options,
                                    const TrainResult& result, const nlohmann::json& about,
                                    const std::string& out_dir) {
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", error.message()));
  }
  const std::filesystem::path dir(out_dir);
  GP_RETURN_IF_ERROR(
      WriteJsonFile((dir / kMetricsFile).string(), TrainingMetricsJson(result, about)));
  GP_RETURN_IF_ERROR(
      WriteTextFile((dir / kHistoryFile).string(), TrainingHistoryCsv(result.history)));
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  for (const auto& [name, tensor] : result.best_parameters) {
    parameters.push_back({name, tensor.detach().to(at::kFloat).contiguous()});
  }
  GP_RETURN_IF_ERROR(
      WriteTensors((dir / kModelFile).string(), parameters,
                   {{"probe", options.probe.kind}, {"format", "graphprobe-probe-v1"}}));
  const at::Tensor test_adjacency = result.labels_used.index_select(0, result.test_indices);
  return WriteTensors((dir / kPredictionsFile).string(),
                      {{"probabilities", result.test_probabilities.contiguous()},
                       {"adjacency", test_adjacency.to(at::kByte)},
                       {"graph_id", data.graph_id.index_select(0, result.test_indices)}},
                      {{"split", "test"}, {"probe", options.probe.kind}});
}

}  // namespace gp
