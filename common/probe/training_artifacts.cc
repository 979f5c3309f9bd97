// The files of one probe training.
#include "common/probe/training_artifacts.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/core/tensorboard_events.h"
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

namespace {

// Four significant digits: the report draws these, and 100000 cells carry them.
double Rounded(double x) {
  if (!std::isfinite(x) || x == 0) return std::isfinite(x) ? 0 : x;
  const double scale = std::pow(10.0, 3 - std::floor(std::log10(std::fabs(x))));
  return std::round(x * scale) / scale;
}

}  // namespace

nlohmann::json HistoryJson(const std::vector<EpochRecord>& history, int best_epoch) {
  nlohmann::json columns = {{"epoch", nlohmann::json::array()},
                            {"train_loss", nlohmann::json::array()},
                            {"val_loss", nlohmann::json::array()},
                            {"val_f1", nlohmann::json::array()},
                            {"val_auc", nlohmann::json::array()}};
  const size_t n = history.size();
  const size_t stride = (n + kMaxHistoryPoints - 1) / kMaxHistoryPoints;
  for (size_t i = 0; i < n; ++i) {
    const EpochRecord& r = history[i];
    if (stride > 1 && i % stride != 0 && i + 1 != n && r.epoch != best_epoch) continue;
    const bool validated = r.val.pairs > 0;  // logistic probes validate only once fitted
    columns["epoch"].push_back(r.epoch);
    columns["train_loss"].push_back(Rounded(r.train_loss));
    columns["val_loss"].push_back(validated ? nlohmann::json(Rounded(r.val.loss)) : nullptr);
    columns["val_f1"].push_back(validated ? nlohmann::json(Rounded(r.val.f1)) : nullptr);
    columns["val_auc"].push_back(validated ? nlohmann::json(Rounded(r.val.auc)) : nullptr);
  }
  return columns;
}

nlohmann::json TestSamplesJson(const ProbeDataset& data, const TrainOptions& options,
                               const TrainResult& result, int count) {
  nlohmann::json samples = nlohmann::json::array();
  if (!result.test_probabilities.defined() || !result.test_indices.defined()) return samples;
  const bool undirected = options.task == ProbeTask::kUndirected;
  const int64_t shown = std::min<int64_t>(count, result.test_indices.size(0));
  for (int64_t t = 0; t < shown; ++t) {
    const int64_t g = result.test_indices[t].item<int64_t>();
    const at::Tensor real = data.node_mask[g].to(at::kBool).nonzero().view({-1});
    at::Tensor logits = at::logit(result.test_probabilities[t].to(at::kDouble), 1e-12);
    if (undirected) logits = (logits + logits.t()) / 2;
    const at::Tensor probability =
        at::sigmoid(logits).index_select(0, real).index_select(1, real).contiguous();
    const at::Tensor truth =
        result.labels_used[g].index_select(0, real).index_select(1, real).to(at::kInt).contiguous();
    const int64_t n = real.size(0);
    nlohmann::json nodes = nlohmann::json::array(), adjacency = nlohmann::json::array(),
                   probabilities = nlohmann::json::array();
    const double* p = probability.data_ptr<double>();
    const int32_t* a = truth.data_ptr<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      nodes.push_back(real[i].item<int64_t>());
      nlohmann::json truth_row = nlohmann::json::array(), probability_row = nlohmann::json::array();
      for (int64_t j = 0; j < n; ++j) {
        truth_row.push_back(a[i * n + j]);
        probability_row.push_back(i == j ? 0.0 : std::round(p[i * n + j] * 1000) / 1000);
      }
      adjacency.push_back(std::move(truth_row));
      probabilities.push_back(std::move(probability_row));
    }
    samples.push_back({{"graph_id", data.graph_id[g].item<int64_t>()},
                       {"task", undirected ? "undirected" : "directed"},
                       {"nodes", nodes},
                       {"adjacency", adjacency},
                       {"probability", probabilities}});
  }
  return samples;
}

absl::Status WriteTensorBoardScalars(const TrainResult& result, const std::string& dir) {
  GP_ASSIGN_OR_RETURN(TensorBoardEvents events, TensorBoardEvents::Create(dir));
  for (const EpochRecord& r : result.history) {
    events.AddScalar("train/loss", r.train_loss, r.epoch);
    if (r.val.pairs == 0) continue;  // not validated at this step
    events.AddScalar("validation/loss", r.val.loss, r.epoch);
    events.AddScalar("validation/f1", r.val.f1, r.epoch);
    events.AddScalar("validation/auc", r.val.auc, r.epoch);
  }
  events.AddScalar("test/f1", result.test.f1, result.best_epoch);
  events.AddScalar("test/auc", result.test.auc, result.best_epoch);
  return events.Close();
}

nlohmann::json TrainingMetricsJson(const ProbeDataset& data, const TrainOptions& options,
                                   const TrainResult& result, const nlohmann::json& about) {
  nlohmann::json metrics = {{"val", result.val.ToJson()},
                            {"test", result.test.ToJson()},
                            {"test_interval", result.test_interval.ToJson()},
                            {"threshold", result.threshold},
                            {"best_epoch", result.best_epoch},
                            {"head_ranking", HeadRankingJson(result.head_ranking)},
                            {"history", HistoryJson(result.history, result.best_epoch)},
                            {"test_samples", TestSamplesJson(data, options, result)}};
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
  GP_RETURN_IF_ERROR(WriteJsonFile((dir / kMetricsFile).string(),
                                   TrainingMetricsJson(data, options, result, about)));
  GP_RETURN_IF_ERROR(
      WriteTextFile((dir / kHistoryFile).string(), TrainingHistoryCsv(result.history)));
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  for (const auto& [name, tensor] : result.best_parameters) {
    parameters.push_back({name, tensor.detach().to(at::kFloat).contiguous()});
  }
  GP_RETURN_IF_ERROR(
      WriteTensors((dir / kModelFile).string(), parameters,
                   {{"probe", options.probe.kind}, {"format", "graphprobe-probe-v1"}}));
  GP_RETURN_IF_ERROR(WriteTensorBoardScalars(result, (dir / kTensorBoardDir).string()));
  const at::Tensor test_adjacency = result.labels_used.index_select(0, result.test_indices);
  return WriteTensors((dir / kPredictionsFile).string(),
                      {{"probabilities", result.test_probabilities.contiguous()},
                       {"adjacency", test_adjacency.to(at::kByte)},
                       {"graph_id", data.graph_id.index_select(0, result.test_indices)}},
                      {{"split", "test"}, {"probe", options.probe.kind}});
}

}  // namespace gp
