// One prompt's attention for the report.
#include "common/ablation/attention_sample.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ablation/dataset_builder.h"
#include "common/ablation/prepared_prompt.h"
#include "common/core/json_file.h"
#include "common/core/status.h"

namespace gp {
namespace {

// The (layer, head) pairs to carry, in the order shown.
std::vector<std::pair<int64_t, int64_t>> ChosenHeads(int64_t layers, int64_t heads,
                                                     const std::vector<HeadScore>& ranking) {
  std::vector<std::pair<int64_t, int64_t>> chosen;
  if (layers * heads <= kMaxSampleHeads) {
    for (int64_t l = 0; l < layers; ++l) {
      for (int64_t h = 0; h < heads; ++h) chosen.push_back({l, h});
    }
    return chosen;
  }
  for (const HeadScore& score : ranking) {
    if (static_cast<int>(chosen.size()) == kMaxSampleHeads) break;
    if (score.head >= 0 && score.layer < layers && score.head < heads) {
      chosen.push_back({score.layer, score.head});
    }
  }
  for (int64_t h = 0; chosen.empty() && h < std::min<int64_t>(heads, kMaxSampleHeads); ++h) {
    chosen.push_back({0, h});
  }
  return chosen;
}

}  // namespace

absl::StatusOr<nlohmann::json> AttentionSampleJson(const DatasetSpec& spec,
                                                   const std::vector<HeadScore>& ranking,
                                                   ModelCache* cache) {
  int graph_index = 0;
  while (graph_index < spec.num_graphs &&
         SplitOfGraph(spec.seed, graph_index, spec.test_fraction, spec.val_fraction) != 2) {
    ++graph_index;
  }
  if (graph_index == spec.num_graphs) graph_index = 0;  // no test graph: the first one
  GP_ASSIGN_OR_RETURN(DatasetGraph graph, DatasetGraphOf(spec, graph_index));
  const Prompt& prompt = graph.prompts.front();
  GP_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded, cache->Get(ModelRefOf(spec)));
  GP_ASSIGN_OR_RETURN(PreparedPrompt prepared,
                      PreparePrompt(loaded->tokenizer, {prompt.text, prompt.mentions}));
  GP_ASSIGN_OR_RETURN(Encoding encoding,
                      loaded->tokenizer.Encode(prompt.text, /*add_special_tokens=*/true));
  const int64_t length = static_cast<int64_t>(prepared.ids.size());
  prepared.positions.resize(length);  // every token's row, not only the mentions'
  std::iota(prepared.positions.begin(), prepared.positions.end(), 0);
  GP_ASSIGN_OR_RETURN(std::vector<at::Tensor> rows, CaptureRows(loaded->model, {prepared}));
  const at::Tensor attention = rows[0].to(at::kFloat).contiguous();  // [L, H, T, T]

  nlohmann::json tokens = nlohmann::json::array(), token_node = nlohmann::json::array();
  std::vector<int> node_of(length, -1);
  for (size_t node = 0; node < prepared.mentions.size(); ++node) {
    for (const std::vector<int>& mention : prepared.mentions[node]) {
      for (int t : mention) node_of[t] = static_cast<int>(node);
    }
  }
  for (int64_t t = 0; t < length; ++t) {
    const auto [begin, end] = encoding.offsets[t];
    tokens.push_back(end > begin ? prompt.text.substr(begin, end - begin) : encoding.tokens[t]);
    token_node.push_back(node_of[t]);
  }
  nlohmann::json edges = nlohmann::json::array();
  for (const auto& [parent, child] : graph.graph.edges) edges.push_back({parent, child});
  nlohmann::json maps = nlohmann::json::array();
  const int64_t layers = attention.size(0), heads = attention.size(1);
  for (const auto& [layer, head] : ChosenHeads(layers, heads, ranking)) {
    const float* a = attention[layer][head].contiguous().data_ptr<float>();
    nlohmann::json matrix = nlohmann::json::array();
    for (int64_t q = 0; q < length; ++q) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t k = 0; k <= q; ++k) row.push_back(std::round(a[q * length + k] * 1000) / 1000);
      matrix.push_back(std::move(row));  // causal: keys after the query are 0 and left out
    }
    maps.push_back({{"layer", layer}, {"head", head}, {"attention", std::move(matrix)}});
  }
  return nlohmann::json{{"graph_id", graph_index},  {"text", prompt.text},  {"tokens", tokens},
                        {"token_node", token_node}, {"names", graph.names}, {"edges", edges},
                        {"layers", layers},         {"heads", heads},       {"maps", maps}};
}

const AblationCell* SampleCellOf(const std::vector<AblationCell>& cells,
                                 const std::vector<ConfigSummary>& summaries,
                                 const std::string& model) {
  const std::optional<ConfigSummary> selected = BestByValidation(summaries, model, 0);
  const AblationCell* first_real = nullptr;
  for (const AblationCell& cell : cells) {
    if (cell.model_name != model || cell.control != ProbeControl::kNone) continue;
    if (selected && cell.dataset_id == selected->settings.dataset_id) return &cell;
    if (!first_real) first_real = &cell;
  }
  return first_real;
}

absl::Status WriteAttentionSamples(const AblationSpec& spec, const std::vector<CellResult>& results,
                                   const std::vector<ConfigSummary>& summaries,
                                   const std::string& out_dir) {
  ModelCache cache(1);
  const std::vector<AblationCell> cells = ExpandAblation(spec);
  for (const AblationModel& model : spec.models) {
    const AblationCell* cell = SampleCellOf(cells, summaries, model.name);
    if (!cell) continue;
    // Heads rank differently per notation (each layout has its own parent-finding layer).
    const std::vector<HeadScore> ranking = ModelHeadRanking(
        results, model.name, "logreg-head", NotationName(cell->dataset.prompt.notation));
    GP_ASSIGN_OR_RETURN(nlohmann::json sample, AttentionSampleJson(cell->dataset, ranking, &cache));
    sample["model"] = model.name;
    sample["dataset_id"] = cell->dataset_id;
    // One line: indented, a T x T matrix would be a line per number.
    GP_RETURN_IF_ERROR(WriteTextFile(
        (std::filesystem::path(out_dir) / absl::StrCat("attention-", model.name, ".json")).string(),
        sample.dump() + "\n"));
  }
  return absl::OkStatus();
}

}  // namespace gp
