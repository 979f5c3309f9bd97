// Builds a dataset file (DESIGN.md's contract) end to end: random graphs -> prompts over P
// orderings -> tokens -> batched forward capturing node-token rows only -> node-pair
// features averaged over orderings. Splits are fixed by graph id, so every mode and model of
// an ablation is evaluated on the same graphs. Besides the contract's tensors the file holds
// `node_position` F32 [G, N]: each node's mean token index, for the positional baseline. Resumable:
// completed graphs are checkpointed to OUT.partial and a restarted run with the same spec continues
// from there.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/features/pair_features.h"
#include "common/graph/graph.h"
#include "common/graph/node_names.h"
#include "common/graph/prompt.h"
#include "nlohmann/json.hpp"

namespace gp {

struct DatasetSpec {
  std::string model;  // checkpoint directory with config.json and tokenizer.json
  bool random_init = false;
  uint64_t init_seed = 0;
  std::string dtype = "float32";
  std::string device = "cpu";

  int num_graphs = 1000;
  GeneratorOptions generator;
  NameScheme names = NameScheme::kLetters;
  PromptOptions prompt;
  FeatureOptions features;
  int permutations = 1;
  uint64_t seed = 42;

  int batch_size = 16;
  double test_fraction = 0.2;
  double val_fraction = 0.1;

  // Everything that determines the dataset's contents (not batch size or device).
  nlohmann::json ToJson() const;
};

// 0 train, 1 validation, 2 test: a hash of (seed, graph id), independent of model and mode.
uint8_t SplitOfGraph(uint64_t seed, int64_t graph_id, double test_fraction, double val_fraction);

struct DatasetProgress {
  int graphs_done = 0;
  int graphs_total = 0;
  int resumed_from = 0;
  double forward_seconds = 0;  // time inside the model's forward pass
  double total_seconds = 0;
};

absl::Status BuildDataset(const DatasetSpec& spec, const std::string& out_path,
                          const std::function<void(const DatasetProgress&)>& on_progress = nullptr);

}  // namespace gp
