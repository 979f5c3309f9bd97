// Cell results, their JSON form and the tables made from them.
#include "common/ablation/result_tables.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gp {
namespace {

using Json = nlohmann::json;

Json HeadScoreJson(const HeadScore& h) {
  return {{"layer", h.layer}, {"head", h.head}, {"val_auc", h.val_auc}, {"val_f1", h.val_f1}};
}

// Two-sided 95% quantile of Student's t with `df` degrees of freedom.
double T95(int df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571,
                                 2.447,  2.365, 2.306, 2.262, 2.228};
  return df >= 1 && df <= 10 ? table[df - 1] : 1.96 + 2.5 / df;
}

struct MeanInterval {
  double mean = 0, low = 0, high = 0;
};
MeanInterval OverSeeds(const std::vector<double>& values) {
  MeanInterval m;
  for (double v : values) m.mean += v;
  m.mean /= values.size();
  double variance = 0;
  for (double v : values) variance += (v - m.mean) * (v - m.mean);
  variance /= values.size() - 1;
  const double half =
      T95(static_cast<int>(values.size()) - 1) * std::sqrt(variance / values.size());
  m.low = m.mean - half;
  m.high = m.mean + half;
  return m;
}

}  // namespace

std::string CellResult::ConfigKey() const {
  return absl::StrCat(model, "|", graph_size, "|", generator, "|", names, "|", notation, "|",
                      graphs, "|", permutations, "|", feature_mode, "|", probe, "|", control);
}

Json CellResult::ToJson() const {
  Json heads = Json::array();
  for (const HeadScore& h : head_ranking) heads.push_back(HeadScoreJson(h));
  Json json = {{"cell_id", cell_id},
               {"dataset_id", dataset_id},
               {"model", model},
               {"probe", probe},
               {"control", control},
               {"graph_size", graph_size},
               {"generator", generator},
               {"notation", notation},
               {"names", names},
               {"feature_mode", feature_mode},
               {"permutations", permutations},
               {"graphs", graphs},
               {"seed", seed},
               {"val", val.ToJson()},
               {"test", test.ToJson()},
               {"test_interval", test_interval.ToJson()},
               {"best_epoch", best_epoch},
               {"head_ranking", heads},
               {"probe_seconds", probe_seconds}};
  if (!history.is_null()) json["history"] = history;
  if (!test_samples.is_null()) json["test_samples"] = test_samples;
  return json;
}

absl::StatusOr<CellResult> CellResult::FromJson(const Json& j) {
  try {
    CellResult r;
    r.cell_id = j.at("cell_id").get<std::string>();
    r.dataset_id = j.at("dataset_id").get<std::string>();
    r.model = j.at("model").get<std::string>();
    r.probe = j.at("probe").get<std::string>();
    r.control = j.at("control").get<std::string>();
    r.graph_size = j.at("graph_size").get<int>();
    r.generator = j.at("generator").get<std::string>();
    r.notation = j.at("notation").get<std::string>();
    r.names = j.at("names").get<std::string>();
    r.feature_mode = j.at("feature_mode").get<std::string>();
    r.permutations = j.at("permutations").get<int>();
    r.graphs = j.at("graphs").get<int>();
    r.seed = j.at("seed").get<uint64_t>();
    r.val = EdgeMetrics::FromJson(j.at("val"));
    r.test = EdgeMetrics::FromJson(j.at("test"));
    r.test_interval = MetricIntervals::FromJson(j.at("test_interval"));
    r.best_epoch = j.at("best_epoch").get<int>();
    for (const Json& h : j.at("head_ranking")) {
      r.head_ranking.push_back({h.at("layer").get<int64_t>(), h.at("head").get<int64_t>(),
                                h.at("val_f1").get<double>(), h.at("val_auc").get<double>()});
    }
    r.probe_seconds = j.at("probe_seconds").get<double>();
    if (j.contains("history")) r.history = j["history"];
    if (j.contains("test_samples")) r.test_samples = j["test_samples"];
    return r;
  } catch (const Json::exception& e) {
    return absl::DataLossError(absl::StrCat("cell result: ", e.what()));
  }
}

ControlTaskIndex::ControlTaskIndex(const std::vector<CellResult>& results) {
  const std::string control_task = ProbeControlName(ProbeControl::kControlTask);
  for (const CellResult& r : results) {
    if (r.control == control_task) twins_[{r.dataset_id, r.probe}] = &r;
  }
}

std::optional<Selectivity> ControlTaskIndex::SelectivityOf(const CellResult& cell) const {
  if (!cell.control.empty()) return std::nullopt;
  auto it = twins_.find({cell.dataset_id, cell.probe});
  if (it == twins_.end()) return std::nullopt;
  return Selectivity{cell.test.f1 - it->second->test.f1, cell.test.auc - it->second->test.auc};
}

std::vector<ConfigSummary> SummarizeOverSeeds(const std::vector<CellResult>& results) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const CellResult*>> groups;
  for (const CellResult& r : results) {
    const std::string key = r.ConfigKey();
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&r);
  }
  const ControlTaskIndex twins(results);
  std::vector<ConfigSummary> out;
  for (const std::string& key : order) {
    const auto& cells = groups[key];
    ConfigSummary s;
    s.settings = *cells[0];
    s.seeds = static_cast<int>(cells.size());
    std::vector<double> f1, auc, selectivity;
    for (const CellResult* c : cells) {
      f1.push_back(c->test.f1);
      auc.push_back(c->test.auc);
      s.val_f1 += c->val.f1 / cells.size();
      if (auto sel = twins.SelectivityOf(*c)) selectivity.push_back(sel->f1);
    }
    if (cells.size() >= 2) {
      const MeanInterval f = OverSeeds(f1), a = OverSeeds(auc);
      std::tie(s.test_f1, s.test_f1_low, s.test_f1_high) = std::tie(f.mean, f.low, f.high);
      std::tie(s.test_auc, s.test_auc_low, s.test_auc_high) = std::tie(a.mean, a.low, a.high);
    } else {
      const CellResult& c = *cells[0];
      s.test_f1 = c.test.f1;
      s.test_f1_low = c.test_interval.f1_low;
      s.test_f1_high = c.test_interval.f1_high;
      s.test_auc = c.test.auc;
      s.test_auc_low = c.test_interval.auc_low;
      s.test_auc_high = c.test_interval.auc_high;
    }
    if (selectivity.size() == cells.size()) {
      double sum = 0;
      for (double v : selectivity) sum += v;
      s.selectivity_f1 = sum / selectivity.size();
    }
    out.push_back(s);
  }
  return out;
}

std::optional<ConfigSummary> BestByValidation(const std::vector<ConfigSummary>& summaries,
                                              const std::string& model, int graph_size) {
  std::optional<ConfigSummary> best;
  for (const ConfigSummary& s : summaries) {
    if (s.settings.model != model || !s.settings.control.empty()) continue;
    if (graph_size > 0 && s.settings.graph_size != graph_size) continue;
    if (!best || s.val_f1 > best->val_f1) best = s;
  }
  return best;
}

std::optional<ConfigSummary> ControlOf(const std::vector<ConfigSummary>& summaries,
                                       const ConfigSummary& config, const std::string& control) {
  const CellResult& c = config.settings;
  const bool positional = control == ProbeControlName(ProbeControl::kPositional);
  for (const ConfigSummary& s : summaries) {
    const CellResult& o = s.settings;
    if (o.control != control || o.model != c.model || o.graph_size != c.graph_size ||
        o.generator != c.generator || o.names != c.names || o.notation != c.notation ||
        o.graphs != c.graphs || o.permutations != c.permutations) {
      continue;
    }
    if (positional || (o.feature_mode == c.feature_mode && o.probe == c.probe)) return s;
  }
  return std::nullopt;
}

std::vector<HeadScore> ModelHeadRanking(const std::vector<CellResult>& results,
                                        const std::string& model, const std::string& probe,
                                        const std::string& notation) {
  std::map<std::pair<int64_t, int64_t>, std::pair<HeadScore, int>> sums;
  for (const CellResult& r : results) {
    if (r.model != model || r.probe != probe || !r.control.empty()) continue;
    if (!notation.empty() && r.notation != notation) continue;
    for (const HeadScore& h : r.head_ranking) {
      auto& [sum, count] = sums[{h.layer, h.head}];
      sum.layer = h.layer;
      sum.head = h.head;
      sum.val_f1 += h.val_f1;
      sum.val_auc += h.val_auc;
      ++count;
    }
  }
  std::vector<HeadScore> ranking;
  for (auto& [key, entry] : sums) {
    HeadScore h = entry.first;
    h.val_f1 /= entry.second;
    h.val_auc /= entry.second;
    ranking.push_back(h);
  }
  std::stable_sort(ranking.begin(), ranking.end(),
                   [](const HeadScore& a, const HeadScore& b) { return a.val_auc > b.val_auc; });
  return ranking;
}

std::string ResultsCsv(const std::vector<CellResult>& results) {
  std::ostringstream csv;
  csv << "model,graph_size,generator,notation,names,feature_mode,permutations,graphs,seed,probe,"
         "control,test_f1,test_f1_low,test_f1_high,test_auc,test_auc_low,test_auc_high,"
         "test_precision,test_recall,test_exact,val_f1,val_auc,selectivity_f1,selectivity_auc,"
         "best_epoch,probe_seconds\n";
  const ControlTaskIndex twins(results);
  for (const CellResult& r : results) {
    const std::optional<Selectivity> s = twins.SelectivityOf(r);
    csv << absl::StrFormat(
        "%s,%d,%s,%s,%s,%s,%d,%d,%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,"
        "%s,%s,%d,%.2f\n",
        r.model, r.graph_size, r.generator, r.notation, r.names, r.feature_mode, r.permutations,
        r.graphs, r.seed, r.probe, r.control, r.test.f1, r.test_interval.f1_low,
        r.test_interval.f1_high, r.test.auc, r.test_interval.auc_low, r.test_interval.auc_high,
        r.test.precision, r.test.recall, r.test.exact, r.val.f1, r.val.auc,
        s ? absl::StrFormat("%.4f", s->f1) : "", s ? absl::StrFormat("%.4f", s->auc) : "",
        r.best_epoch, r.probe_seconds);
  }
  return csv.str();
}

std::string SummaryCsv(const std::vector<ConfigSummary>& summaries) {
  std::ostringstream csv;
  csv << "model,graph_size,generator,notation,names,feature_mode,permutations,graphs,probe,"
         "control,seeds,test_f1,test_f1_low,test_f1_high,test_auc,test_auc_low,test_auc_high,"
         "val_f1,selectivity_f1\n";
  for (const ConfigSummary& s : summaries) {
    const CellResult& r = s.settings;
    csv << absl::StrFormat(
        "%s,%d,%s,%s,%s,%s,%d,%d,%s,%s,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%s\n", r.model,
        r.graph_size, r.generator, r.notation, r.names, r.feature_mode, r.permutations, r.graphs,
        r.probe, r.control, s.seeds, s.test_f1, s.test_f1_low, s.test_f1_high, s.test_auc,
        s.test_auc_low, s.test_auc_high, s.val_f1,
        s.selectivity_f1 ? absl::StrFormat("%.4f", *s.selectivity_f1) : "");
  }
  return csv.str();
}

std::string HeadRankingCsv(const std::vector<HeadScore>& ranking) {
  std::ostringstream csv;
  csv << "rank,layer,head,mean_val_auc,mean_val_f1\n";
  for (size_t i = 0; i < ranking.size(); ++i) {
    const HeadScore& h = ranking[i];
    csv << absl::StrFormat("%d,%d,%d,%.4f,%.4f\n", i + 1, h.layer, h.head, h.val_auc, h.val_f1);
  }
  return csv.str();
}

}  // namespace gp
