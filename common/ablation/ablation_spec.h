// An ablation: which models, graphs, notations, feature modes and probes to cross, as a
// JSON spec, and its expansion into cells. A cell is one probe training on one dataset; the
// datasets (one per model x graph settings x feature mode) are shared by the probes.
// Free of CLI and RPC concerns: `graphprobe run` and the coordinator use the same types.
//
//   GP_ASSIGN_OR_RETURN(AblationSpec spec, ParseAblationSpec(json, "spec.json"));
//   for (const AblationCell& cell : ExpandAblation(spec)) ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/dataset_spec.h"
#include "common/probe/train_options.h"
#include "nlohmann/json.hpp"

namespace gp {

// The most cells one spec may expand to.
constexpr int kMaxAblationCells = 100000;

struct AblationModel {
  std::string name;          // a short label for tables
  std::string path;          // checkpoint directory
  bool random_init = false;  // the same architecture with random weights (a control)
  uint64_t init_seed = 0;
};

struct AblationSpec {
  std::string name = "ablation";
  std::vector<AblationModel> models;
  std::vector<int> graph_sizes = {7};
  std::vector<GeneratorKind> generators = {GeneratorKind::kDag};
  double expected_degree = 2.0;
  std::vector<Notation> notations = {Notation::kArrow};
  // Start prompts with "Nodes: ...": without it a node with no edges is never mentioned in the
  // arrow notation, and such graphs cannot be probed.
  bool node_header = true;
  std::vector<NameScheme> name_schemes = {NameScheme::kLetters};
  std::vector<FeatureOptions> feature_modes = {FeatureOptions{}};
  std::vector<int> permutations = {1};
  std::vector<std::string> probes = {"pair-mlp"};
  std::vector<uint64_t> seeds = {42};  // graphs, splits, probe initialization and controls
  std::vector<int> dataset_sizes = {500};
  // Controls, per dataset: every probe again on the control task (labels a fixed function of
  // the node names: selectivity = real minus control); the first probe on shuffled labels
  // (a leak check, at chance by construction); the first probe on token offsets instead of
  // attention (once per dataset family: position does not depend on the feature mode).
  bool control_task = true;
  bool label_shuffle_control = false;
  bool positional_baseline_control = true;
  // Everything but the probe kind, controls and seed. Probe defaults sized for small models on
  // CPUs, with positives weighted by the class balance (edges are the minority).
  TrainOptions probe_training = [] {
    TrainOptions o;
    o.probe.hidden = 128;
    o.epochs = 60;
    o.patience = 15;
    o.batch_size = 64;
    o.learning_rate = 3e-3;
    o.positive_weight = 0;
    return o;
  }();
  int extraction_batch_size = 64;  // small models run far faster in larger batches
  std::string dtype = "float32";
  std::string device = "cpu";

  nlohmann::json ToJson() const;
};

// InvalidArgument naming `source` and the field for unknown fields, wrong types, empty lists,
// values out of range and grids over kMaxAblationCells. Relative model paths are resolved against
// `base_dir`.
absl::StatusOr<AblationSpec> ParseAblationSpec(const nlohmann::json& json,
                                               const std::string& source,
                                               const std::string& base_dir);
absl::StatusOr<AblationSpec> ReadAblationSpec(const std::string& path);

// graphprobe's built-in ablation on the toy model at `toy_model_dir` and its random-init twin.
AblationSpec DefaultAblationSpec(const std::string& toy_model_dir);

struct AblationCell {
  std::string id;          // stable across runs: what resume matches on
  std::string dataset_id;  // cells with the same dataset_id share one dataset file
  std::string model_name;
  DatasetSpec dataset;
  std::string probe;
  ProbeControl control = ProbeControl::kNone;
  TrainOptions training;
};

// Cells ordered so that the cells of one dataset are adjacent and datasets of one model and
// graph setting (which differ only in feature mode) follow each other.
std::vector<AblationCell> ExpandAblation(const AblationSpec& spec);

}  // namespace gp
