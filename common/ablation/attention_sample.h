// One prompt's attention, kept for the report's "attention of one prompt" picture: the tokens
// of a test graph's prompt along both axes, which node each token mentions, the graph's edges,
// and the full T x T attention of the model's heads (the best heads by validation AUC when the
// model has more than a report can carry).
//
//   // OUT/attention-MODEL.json for every model of the spec:
//   GP_RETURN_IF_ERROR(WriteAttentionSamples(spec, results, summaries, out_dir));
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/ablation_spec.h"
#include "common/ablation/attention_source.h"
#include "common/ablation/dataset_spec.h"
#include "common/ablation/result_tables.h"
#include "common/probe/trainer.h"
#include "nlohmann/json.hpp"

namespace gp {

// Heads a sample carries at most: 64 heads of a 60-token prompt are ~1.5 MB of JSON.
inline constexpr int kMaxSampleHeads = 64;

// The attention of the first test graph of `spec`'s dataset (its first ordering) in `spec`'s
// model, as {"model", "graph_id", "text", "tokens": [...], "token_node": [node or -1],
// "names": [...], "edges": [[parent, child]], "layers", "heads", "maps": [{"layer", "head",
// "attention": T x T rows (query) over keys, 3 decimals}]}. Heads: all when there are at most
// kMaxSampleHeads, else the first kMaxSampleHeads of `ranking` (layer 0's heads when it is
// empty).
absl::StatusOr<nlohmann::json> AttentionSampleJson(const DatasetSpec& spec,
                                                   const std::vector<HeadScore>& ranking,
                                                   ModelCache* cache);

// The cell whose dataset a model's sample shows: the first seed's dataset of the configuration
// validation selects for the model (what the results' headline quotes), or, without results
// for it, the model's first real-task cell; nullptr when the model has none.
const AblationCell* SampleCellOf(const std::vector<AblationCell>& cells,
                                 const std::vector<ConfigSummary>& summaries,
                                 const std::string& model);

// OUT/attention-MODEL.json for every model of `spec`: the sample of the dataset SampleCellOf
// picks among `summaries` (SummarizeOverSeeds of `results`), the heads chosen by the
// logreg-head ranking over the cells of that notation.
absl::Status WriteAttentionSamples(const AblationSpec& spec, const std::vector<CellResult>& results,
                                   const std::vector<ConfigSummary>& summaries,
                                   const std::string& out_dir);

}  // namespace gp
