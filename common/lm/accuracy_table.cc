// The held-out accuracy table: one EvaluateParentAnswers call per cell.
#include "common/lm/accuracy_table.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/status.h"

namespace gp {

absl::StatusOr<std::vector<AccuracyCell>> EvaluateAccuracyTable(
    const DecoderModel& model, const Tokenizer& tokenizer, const GraphCorpusOptions& corpus,
    const AccuracyTableOptions& options) {
  if (options.graphs <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("graphs: ", options.graphs, ", need >= 1"));
  }
  std::vector<AccuracyCell> cells;
  for (int nodes : options.node_counts) {
    for (bool header : options.headers) {
      for (Notation notation : DistinctNotations(options.notations)) {
        GraphCorpusOptions one = corpus;
        one.notations.assign(1, notation);
        // The header draw still happens at 0 and 1, so both settings see the same graphs.
        one.node_header_fraction = header ? 1.0 : 0.0;
        AccuracyCell cell{notation, header, nodes, {}};
        GP_ASSIGN_OR_RETURN(
            cell.accuracy,
            EvaluateParentAnswers(model, tokenizer, one, options.graphs, nodes, options.seed));
        cells.push_back(std::move(cell));
      }
    }
  }
  return cells;
}

double WorstParentSets(const std::vector<AccuracyCell>& cells, int nodes) {
  double worst = 1;
  for (const AccuracyCell& cell : cells) {
    if (cell.nodes == nodes) worst = std::min(worst, cell.accuracy.parent_sets);
  }
  return worst;
}

std::string AccuracyTableMarkdown(const std::vector<AccuracyCell>& cells) {
  std::vector<Notation> notations;
  std::map<std::pair<int, bool>, std::map<Notation, const AccuracyCell*>> rows;
  for (const AccuracyCell& cell : cells) {
    if (std::find(notations.begin(), notations.end(), cell.notation) == notations.end()) {
      notations.push_back(cell.notation);
    }
    rows[{cell.nodes, !cell.header}][cell.notation] = &cell;  // header first within a size
  }
  std::string header = "| nodes | `Nodes:` header | questions |", rule = "|---|---|---|";
  for (Notation n : notations) {
    absl::StrAppend(&header, " ", NotationName(n),
                    ": exact parent sets [95% interval] (answer tokens) |");
    absl::StrAppend(&rule, "---|");
  }
  std::string out = absl::StrCat(header, "\n", rule, "\n");
  for (const auto& [key, by_notation] : rows) {
    const AccuracyCell& first = *by_notation.begin()->second;
    absl::StrAppendFormat(&out, "| %d | %s | %d |", key.first, key.second ? "no" : "yes",
                          first.accuracy.questions);
    for (Notation n : notations) {
      auto it = by_notation.find(n);
      if (it == by_notation.end()) {
        absl::StrAppend(&out, " - |");
        continue;
      }
      const ParentAccuracy& a = it->second->accuracy;
      absl::StrAppendFormat(&out, " %.1f%% [%.1f, %.1f] (%.1f%%) |", 100 * a.parent_sets,
                            100 * (a.parent_sets - a.parent_sets_interval),
                            100 * std::min(1.0, a.parent_sets + a.parent_sets_interval),
                            100 * a.answer_tokens);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string ByParentCountMarkdown(const std::vector<AccuracyCell>& cells) {
  std::map<int, std::pair<int64_t, int64_t>> total;
  for (const AccuracyCell& cell : cells) {
    for (const auto& [parents, counts] : cell.accuracy.by_parent_count) {
      total[parents].first += counts.first;
      total[parents].second += counts.second;
    }
  }
  std::string out = "\n| parents | questions | exact parent sets |\n|---|---|---|\n";
  for (const auto& [parents, counts] : total) {
    absl::StrAppendFormat(&out, "| %s | %d | %.1f%% |\n",
                          parents == 1 ? std::string("0 or 1") : std::to_string(parents),
                          counts.second,
                          100.0 * counts.first / std::max<int64_t>(1, counts.second));
  }
  return out;
}

nlohmann::json AccuracyTableJson(const std::vector<AccuracyCell>& cells) {
  nlohmann::json out = nlohmann::json::array();
  for (const AccuracyCell& cell : cells) {
    out.push_back({{"notation", NotationName(cell.notation)},
                   {"header", cell.header},
                   {"nodes", cell.nodes},
                   {"questions", cell.accuracy.questions},
                   {"parent_sets", cell.accuracy.parent_sets},
                   {"parent_sets_interval", cell.accuracy.parent_sets_interval},
                   {"answer_tokens", cell.accuracy.answer_tokens}});
  }
  return out;
}

}  // namespace gp
