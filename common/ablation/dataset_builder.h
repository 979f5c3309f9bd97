// Builds a dataset file (DESIGN.md's contract) end to end: random graphs -> prompts over P
// orderings -> tokens -> batched forward capturing node-token rows only -> node-pair
// features, pooled by the attention source where the forward ran -> averaged over orderings. Splits
// are fixed by graph id, so every mode and model of an ablation is evaluated on the same graphs.
// Besides the contract's tensors the file holds `node_name_id` I64 [G, N] (a hash of each node's
// name, for the control task) and `position_features` F32 [G, N, N, 7] (token offsets between the
// two nodes' mentions, for the positional baseline; see PositionFeatureNames). A node the prompt
// never mentions (no node header, no edge) gets node_mask 0 and zero features. Extract once, pool
// many: datasets that differ only in their feature options are built from one forward pass.
// Resumable: completed graphs are checkpointed to OUT.partial and a restarted run with the same
// spec continues from there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/ablation/attention_source.h"
#include "common/ablation/dataset_spec.h"
#include "common/features/pair_features.h"
#include "common/graph/graph.h"
#include "common/graph/prompt.h"
#include "nlohmann/json.hpp"

namespace gp {

// Names of the position_features channels, in order.
const std::vector<std::string>& PositionFeatureNames();

// 0 train, 1 validation, 2 test: a hash of (seed, graph id), independent of model and mode.
uint8_t SplitOfGraph(uint64_t seed, int64_t graph_id, double test_fraction, double val_fraction);

struct DatasetProgress {
  int graphs_done = 0;
  int graphs_total = 0;
  int resumed_from = 0;
  double forward_seconds = 0;  // time inside the model's forward pass
  double total_seconds = 0;
};

// Errors name the spec's fields (`graphs`, `permutations`, `batch_size`, `dtype`, ...).
absl::Status BuildDataset(const DatasetSpec& spec, const std::string& out_path,
                          const std::function<void(const DatasetProgress&)>& on_progress = nullptr);

// Graph `g` of a spec's dataset as the build writes it: the graph, its node names and its
// prompt in each of the spec's orderings (the same for every model and feature mode).
struct DatasetGraph {
  Graph graph;
  std::vector<std::string> names;
  std::vector<Prompt> prompts;
};
absl::StatusOr<DatasetGraph> DatasetGraphOf(const DatasetSpec& spec, int g);

// The model a spec names, as the attention sources and the model cache key it.
ModelRef ModelRefOf(const DatasetSpec& spec);

struct DatasetBuildOptions {
  // Where the attention comes from; null: the spec's model in this process, from `cache`
  // (null: a cache of its own, dropped at the end).
  AttentionSource* source = nullptr;
  ModelCache* cache = nullptr;
  // Set by another thread to stop between forward passes (Cancelled); what was checkpointed
  // stays for a resume.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const DatasetProgress&)> on_progress;
};

// Several datasets of one family (specs equal but for `features`) from one forward pass per
// prompt: specs[i] is written to out_paths[i]. Prompts go to the source in batches of
// specs[0].batch_size.
absl::Status BuildDatasets(const std::vector<DatasetSpec>& specs,
                           const std::vector<std::string>& out_paths,
                           const DatasetBuildOptions& options = {});

}  // namespace gp
