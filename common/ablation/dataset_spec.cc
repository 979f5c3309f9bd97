#include "common/ablation/dataset_spec.h"

#include "absl/strings/str_format.h"
#include "common/core/hash.h"

namespace gp {

std::string ContentKey(const DatasetSpec& spec) {
  return absl::StrFormat("%016x", Fnv1a64(spec.ToJson().dump()));
}

nlohmann::json DatasetSpec::ToJson() const {
  nlohmann::json json = FamilyJson();
  json["mode"] = FeatureModeName(features);
  json["k"] = features.top_k;
  json["top_k_ones"] = features.top_k_ones;
  json["drop_sink"] = features.drop_sink;
  json["aggregation"] = features.aggregation == MentionAggregation::kMean ? "mean" : "max";
  json["both_directions"] = features.both_directions;
  return json;
}

nlohmann::json DatasetSpec::FamilyJson() const {
  return {{"model", model},
          {"random_init", random_init},
          {"init_seed", init_seed},
          {"dtype", dtype},
          {"graphs", num_graphs},
          {"nodes", generator.num_nodes},
          {"generator", GeneratorKindName(generator.kind)},
          {"edge_probability", generator.edge_probability},
          {"expected_degree", generator.expected_degree},
          {"num_trees", generator.num_trees},
          {"names", NameSchemeName(names)},
          {"notation", NotationName(prompt.notation)},
          {"separator", prompt.separator == Separator::kComma ? "comma" : "newline"},
          {"node_header", prompt.node_header},
          {"preamble", prompt.preamble},
          {"question", prompt.question},
          {"permutations", permutations},
          {"seed", seed},
          {"test_fraction", test_fraction},
          {"val_fraction", val_fraction}};
}

}  // namespace gp
