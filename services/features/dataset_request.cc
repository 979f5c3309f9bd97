// Request validation and content keys.
#include "services/features/dataset_request.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/hash.h"
#include "common/core/status.h"

namespace gp {
namespace {

absl::Status Field(const std::string& field, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::vector<DatasetSpec>> DatasetSpecsOf(
    const graphprobe::v1::BuildDatasetRequest& request) {
  DatasetSpec base;
  if (request.model().path().empty()) return absl::InvalidArgumentError("model.path: empty");
  base.model = request.model().path();
  base.random_init = request.model().random_init();
  base.init_seed = request.model().init_seed();
  base.dtype = request.model().dtype().empty() ? "float32" : request.model().dtype();
  if (base.dtype != "float32" && base.dtype != "bfloat16") {
    return absl::InvalidArgumentError(
        absl::StrCat("model.dtype '", base.dtype, "': expected float32 or bfloat16"));
  }
  const auto& g = request.graphs();
  base.generator.num_nodes = g.nodes() == 0 ? 7 : g.nodes();
  if (base.generator.num_nodes < kMinNodes || base.generator.num_nodes > kMaxNodes) {
    return absl::InvalidArgumentError(absl::StrCat("graphs.nodes ", base.generator.num_nodes,
                                                   ": expected ", kMinNodes, "..", kMaxNodes));
  }
  absl::StatusOr<GeneratorKind> generator =
      ParseGeneratorKind(g.generator().empty() ? "dag" : g.generator());
  GP_RETURN_IF_ERROR(Field("graphs.generator", generator.status()));
  base.generator.kind = *generator;
  if (g.expected_degree() < 0 || g.edge_probability() < 0 || g.edge_probability() > 1) {
    return absl::InvalidArgumentError(
        "graphs.expected_degree must be >= 0 and graphs.edge_probability in [0, 1]");
  }
  if (g.expected_degree() > 0) base.generator.expected_degree = g.expected_degree();
  base.generator.edge_probability = g.edge_probability() > 0 ? g.edge_probability() : -1;
  if (g.num_trees() > 0) base.generator.num_trees = g.num_trees();
  absl::StatusOr<NameScheme> names = ParseNameScheme(g.names().empty() ? "letters" : g.names());
  GP_RETURN_IF_ERROR(Field("graphs.names", names.status()));
  base.names = *names;
  absl::StatusOr<Notation> notation = ParseNotation(g.notation().empty() ? "arrow" : g.notation());
  GP_RETURN_IF_ERROR(Field("graphs.notation", notation.status()));
  base.prompt.notation = *notation;
  if (!g.separator().empty() && g.separator() != "comma" && g.separator() != "newline") {
    return absl::InvalidArgumentError(
        absl::StrCat("graphs.separator '", g.separator(), "': expected comma or newline"));
  }
  base.prompt.separator = g.separator() == "newline" ? Separator::kNewline : Separator::kComma;
  base.prompt.node_header = !g.no_header();
  base.prompt.preamble = g.preamble();
  base.prompt.question = g.question();
  if (request.num_graphs() < 1 || request.num_graphs() > 10000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_graphs ", request.num_graphs(), ": expected 1..10000000"));
  }
  base.num_graphs = request.num_graphs();
  base.permutations = request.permutations() == 0 ? 1 : request.permutations();
  if (base.permutations < 1 || base.permutations > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("permutations ", base.permutations, ": expected 1..1000"));
  }
  base.seed = request.seed();
  base.batch_size = request.batch_size() == 0 ? 64 : request.batch_size();
  if (base.batch_size < 1 || base.batch_size > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size ", base.batch_size, ": expected 1..1024"));
  }
  if (request.feature_modes_size() > kMaxFeatureModesPerFamily) {
    return absl::InvalidArgumentError(absl::StrCat("feature_modes: ", request.feature_modes_size(),
                                                   ", over the limit of ",
                                                   kMaxFeatureModesPerFamily));
  }
  std::vector<std::string> modes(request.feature_modes().begin(), request.feature_modes().end());
  if (modes.empty()) modes = {"raw"};
  std::vector<DatasetSpec> specs;
  for (size_t i = 0; i < modes.size(); ++i) {
    absl::StatusOr<FeatureOptions> mode = ParseFeatureMode(modes[i], FeatureOptions{});
    GP_RETURN_IF_ERROR(Field(absl::StrCat("feature_modes[", i, "]"), mode.status()));
    DatasetSpec spec = base;
    spec.features = *mode;
    for (const DatasetSpec& earlier : specs) {
      if (earlier.ToJson() == spec.ToJson()) {
        return absl::InvalidArgumentError(
            absl::StrCat("feature_modes[", i, "] '", modes[i], "': named twice"));
      }
    }
    specs.push_back(spec);
  }
  return specs;
}

graphprobe::v1::BuildDatasetRequest BuildDatasetRequestOf(const std::vector<DatasetSpec>& specs) {
  graphprobe::v1::BuildDatasetRequest request;
  if (specs.empty()) return request;
  const DatasetSpec& spec = specs[0];
  request.mutable_model()->set_path(spec.model);
  request.mutable_model()->set_random_init(spec.random_init);
  request.mutable_model()->set_init_seed(spec.init_seed);
  request.mutable_model()->set_dtype(spec.dtype);
  graphprobe::v1::GraphSettings& g = *request.mutable_graphs();
  g.set_nodes(spec.generator.num_nodes);
  g.set_generator(GeneratorKindName(spec.generator.kind));
  g.set_expected_degree(spec.generator.expected_degree);
  g.set_edge_probability(std::max(0.0, spec.generator.edge_probability));
  g.set_num_trees(spec.generator.num_trees);
  g.set_names(NameSchemeName(spec.names));
  g.set_notation(NotationName(spec.prompt.notation));
  g.set_separator(spec.prompt.separator == Separator::kNewline ? "newline" : "comma");
  g.set_no_header(!spec.prompt.node_header);
  g.set_preamble(spec.prompt.preamble);
  g.set_question(spec.prompt.question);
  for (const DatasetSpec& member : specs)
    request.add_feature_modes(FeatureModeName(member.features));
  request.set_num_graphs(spec.num_graphs);
  request.set_permutations(spec.permutations);
  request.set_seed(spec.seed);
  request.set_batch_size(spec.batch_size);
  return request;
}

std::string JobId(const std::vector<DatasetSpec>& specs) {
  std::string all;
  for (const DatasetSpec& spec : specs) all += spec.ToJson().dump();
  return absl::StrFormat("%016x", Fnv1a64(all));
}

}  // namespace gp
