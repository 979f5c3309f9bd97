// An ablation's results: one CellResult per cell (what results.jsonl logs and resume reads),
// and the tables made from them: results.csv (a row per cell, with its bootstrap interval and
// selectivity over the control task), summary.csv (each configuration over its seeds, with a
// 95% interval), the best configuration chosen by validation, and the head rankings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe/trainer.h"
#include "nlohmann/json.hpp"

namespace gp {

struct CellResult {
  std::string cell_id, dataset_id, model, probe, control;
  int graph_size = 0, permutations = 0, graphs = 0;
  std::string generator, notation, names, feature_mode;
  uint64_t seed = 0;
  EdgeMetrics val, test;
  MetricIntervals test_interval;  // bootstrap over test graphs
  int best_epoch = 0;
  std::vector<HeadScore> head_ranking;  // logistic probes only
  double probe_seconds = 0;
  // For the report, carried as the probe training wrote them (training_artifacts.h): the
  // training curve (HistoryJson) and a few test graphs (TestSamplesJson); null when the
  // result came from a trainer that did not send them.
  nlohmann::json history, test_samples;

  // Everything but the seed: cells of one configuration differ only in their seed.
  std::string ConfigKey() const;
  nlohmann::json ToJson() const;
  static absl::StatusOr<CellResult> FromJson(const nlohmann::json& json);
};

// Real minus control-task test metrics of a cell (same dataset, same probe); nullopt for
// control cells and cells without a control-task twin. The index finds the twins of all
// cells in one pass (grids reach 100000 cells).
struct Selectivity {
  double f1 = 0, auc = 0;
};
class ControlTaskIndex {
 public:
  explicit ControlTaskIndex(const std::vector<CellResult>& results);
  std::optional<Selectivity> SelectivityOf(const CellResult& cell) const;

 private:
  std::map<std::pair<std::string, std::string>, const CellResult*> twins_;  // (dataset, probe)
};

// One configuration over its seeds. The interval is a t-interval over seeds (graphs, splits,
// probe initialization all change with the seed) when there are two or more, else the single
// cell's bootstrap interval over test graphs.
struct ConfigSummary {
  CellResult settings;  // the first seed's cell (its seed and metrics are not the summary's)
  int seeds = 0;
  double test_f1 = 0, test_f1_low = 0, test_f1_high = 0;
  double test_auc = 0, test_auc_low = 0, test_auc_high = 0;
  double val_f1 = 0;
  std::optional<double> selectivity_f1;  // mean over seeds
};
std::vector<ConfigSummary> SummarizeOverSeeds(const std::vector<CellResult>& results);

// The real (non-control) configuration with the best mean validation F1 among `summaries`
// that match `model` and `graph_size` (0: any); nullopt if none.
std::optional<ConfigSummary> BestByValidation(const std::vector<ConfigSummary>& summaries,
                                              const std::string& model, int graph_size);

// A control's mean test F1 beside a configuration: the same model, graph setting and
// feature mode (positional: any mode), that control, the given probe (positional: its probe).
std::optional<ConfigSummary> ControlOf(const std::vector<ConfigSummary>& summaries,
                                       const ConfigSummary& config, const std::string& control);

// Mean validation AUC (and F1) of each output of a model's `probe` cells (logreg-head: per
// (layer, head); logreg-layer: per layer, head -1), controls excluded, only cells of
// `notation` when it is not empty; best AUC first.
std::vector<HeadScore> ModelHeadRanking(const std::vector<CellResult>& results,
                                        const std::string& model,
                                        const std::string& probe = "logreg-head",
                                        const std::string& notation = "");

std::string ResultsCsv(const std::vector<CellResult>& results);
std::string SummaryCsv(const std::vector<ConfigSummary>& summaries);
// rank,layer,head,mean_val_auc,mean_val_f1
std::string HeadRankingCsv(const std::vector<HeadScore>& ranking);

}  // namespace gp
