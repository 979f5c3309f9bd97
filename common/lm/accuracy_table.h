// How well a graph-text model answers parent questions, cell by cell: each notation, with and
// without the "Nodes: ..." header, at each graph size, on held-out graphs drawn from a seed
// stream training never uses. The model card's table and `graphprobe eval-lm` print it.
//
//   AccuracyTableOptions options;  // arrow and parents, header on and off, 7 and 10 nodes
//   GP_ASSIGN_OR_RETURN(std::vector<AccuracyCell> cells,
//                       EvaluateAccuracyTable(model, tokenizer, corpus, options));
//   std::cout << AccuracyTableMarkdown(cells);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/lm/lm_trainer.h"
#include "nlohmann/json.hpp"

namespace gp {

struct AccuracyTableOptions {
  std::vector<Notation> notations = {Notation::kArrow, Notation::kParents};
  std::vector<bool> headers = {true, false};
  std::vector<int> node_counts = {7, 10};
  // Per cell; every cell of one size sees the same graphs. 1024 graphs give a 95% interval of
  // about +-0.7 points at 95% exact parent sets (256: +-1.5).
  int graphs = 1024;
  uint64_t seed = 1;
};

struct AccuracyCell {
  Notation notation = Notation::kArrow;
  bool header = false;
  int nodes = 0;
  ParentAccuracy accuracy;  // exact parent sets and answer tokens of this cell
};

// `corpus` gives the names and generators; notation, header and size come from `options`.
absl::StatusOr<std::vector<AccuracyCell>> EvaluateAccuracyTable(
    const DecoderModel& model, const Tokenizer& tokenizer, const GraphCorpusOptions& corpus,
    const AccuracyTableOptions& options);

// The smallest exact-parent-set accuracy of any cell of `nodes` nodes (1 when there is none).
double WorstParentSets(const std::vector<AccuracyCell>& cells, int nodes);

// A markdown table: a row per size and header setting, a column per notation.
std::string AccuracyTableMarkdown(const std::vector<AccuracyCell>& cells);
nlohmann::json AccuracyTableJson(const std::vector<AccuracyCell>& cells);
// Exact parent sets by the number of parents, over every cell: where the errors are.
std::string ByParentCountMarkdown(const std::vector<AccuracyCell>& cells);

}  // namespace gp
