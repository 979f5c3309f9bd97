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

std::string Hash(const std::string& text) { return absl::StrFormat("%016x", Fnv1a64(text)); }

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

std::string ContentKey(const DatasetSpec& spec) { return Hash(spec.ToJson().dump()); }

std::string JobId(const std::vector<DatasetSpec>& specs) {
  std::string all;
  for (const DatasetSpec& spec : specs) all += spec.ToJson().dump();
  return Hash(all);
}

}  // namespace gp
