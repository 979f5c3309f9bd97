// What a dataset is made of (model, graphs, notation, feature mode, orderings, seed, splits)
// and its content key. No libtorch: specs and requests are parsed and checked without it.
#pragma once

#include <cstdint>
#include <string>

#include "common/features/feature_options.h"
#include "common/graph/graph.h"
#include "common/graph/node_names.h"
#include "common/graph/prompt.h"
#include "nlohmann/json.hpp"

namespace gp {

// The most feature modes one dataset family (one forward pass per prompt) may be pooled into.
inline constexpr int kMaxFeatureModesPerFamily = 64;

struct DatasetSpec {
  std::string model;  // checkpoint directory with config.json and tokenizer.json
  bool random_init = false;
  uint64_t init_seed = 0;
  std::string dtype = "float32";
  std::string device = "cpu";

  int num_graphs = 1000;
  GeneratorOptions generator;
  NameScheme names = NameScheme::kLetters;
  // The node header is on: without it a node with no edges is never mentioned in the arrow
  // notation (such nodes are then masked).
  PromptOptions prompt = [] {
    PromptOptions p;
    p.node_header = true;
    return p;
  }();
  FeatureOptions features;
  int permutations = 1;
  uint64_t seed = 42;

  int batch_size = 16;
  double test_fraction = 0.2;
  double val_fraction = 0.1;

  // Everything that determines the dataset's contents (not batch size or device).
  nlohmann::json ToJson() const;
  // ToJson without the feature options: datasets of one family share a forward pass.
  nlohmann::json FamilyJson() const;
};

// A dataset's content key: a hash of everything that determines its contents
// (DatasetSpec::ToJson), 16 hex digits. The same settings always give the same key.
std::string ContentKey(const DatasetSpec& spec);

}  // namespace gp
