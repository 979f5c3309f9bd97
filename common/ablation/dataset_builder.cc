// Dataset building: prompts, batched capture of node-token attention rows, features.
#include "common/ablation/dataset_builder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/graph/node_tokens.h"
#include "common/graph/random.h"
#include "common/model/decoder_model.h"
#include "common/model/tensor_io.h"
#include "common/tokenizer/tokenizer.h"

namespace gp {
namespace {

constexpr const char* kFormat = "graphprobe-dataset-v1";

// One prompt of one graph, tokenized, with the tokens of every node.
struct Item {
  int graph;
  std::vector<int32_t> ids;
  std::vector<int> positions;                           // sorted node tokens: the captured rows
  std::vector<std::vector<std::vector<int>>> mentions;  // [node][mention] -> token indices
};

absl::StatusOr<Item> MakeItem(const DatasetSpec& spec, const Tokenizer& tokenizer,
                              const Graph& graph, const std::vector<std::string>& names,
                              const Ordering& ordering, int graph_id, int ordering_id) {
  GP_ASSIGN_OR_RETURN(Prompt prompt, RenderPrompt(graph, names, spec.prompt, ordering));
  GP_ASSIGN_OR_RETURN(Encoding encoding,
                      tokenizer.Encode(prompt.text, /*add_special_tokens=*/true));
  NodeTokens tokens = MapMentionsToTokens(prompt, encoding.offsets);
  const std::string where = absl::StrCat("graph ", graph_id, ", ordering ", ordering_id);
  if (!tokens.shared_tokens.empty()) {
    const int t = tokens.shared_tokens[0];
    return absl::InvalidArgumentError(absl::StrCat(where, ": token '", encoding.tokens[t],
                                                   "' spans two node names in \"", prompt.text,
                                                   "\"; use another name scheme or separator"));
  }
  Item item{graph_id, encoding.ids, {}, tokens.mentions};
  std::set<int> positions;
  for (int node = 0; node < graph.num_nodes; ++node) {
    if (tokens.mentions[node].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": node '", names[node], "' is never mentioned; ",
                       "add the node header (--header) for isolated nodes"));
    }
    for (int t : tokens.AllTokens(node)) positions.insert(t);
  }
  item.positions.assign(positions.begin(), positions.end());
  return item;
}

// Graphs [first, first + count) of the dataset's features, adjacency and ids.
struct Accumulated {
  std::vector<at::Tensor> features;  // per graph [N, N, F]
  std::vector<at::Tensor> adjacency;
  std::vector<at::Tensor> node_position;  // per graph [N]: mean token index, for baselines
};

absl::Status WriteDataset(const std::string& path, const DatasetSpec& spec, const Accumulated& acc,
                          int64_t layers, int64_t heads, bool partial) {
  const int64_t g = static_cast<int64_t>(acc.features.size());
  const int64_t n = spec.generator.num_nodes;
  at::Tensor features = g > 0 ? at::stack(acc.features)
                              : at::zeros({0, n, n, layers * heads * spec.features.directions()});
  at::Tensor adjacency = g > 0 ? at::stack(acc.adjacency) : at::zeros({0, n, n}, at::kByte);
  at::Tensor node_position = g > 0 ? at::stack(acc.node_position) : at::zeros({0, n});
  at::Tensor split = at::empty({g}, at::kByte);
  for (int64_t i = 0; i < g; ++i) {
    split[i] = SplitOfGraph(spec.seed, i, spec.test_fraction, spec.val_fraction);
  }
  nlohmann::json meta = spec.ToJson();
  meta["feature_order"] = {
      {"layers", layers},
      {"heads", heads},
      {"directions",
       spec.features.both_directions ? nlohmann::json{"i->j", "j->i"} : nlohmann::json{"i->j"}},
      {"index", "(layer * heads + head) * directions + direction"}};
  SafetensorsMetadata metadata = {{"spec", meta.dump()}, {"format", kFormat}};
  if (partial) metadata["partial"] = "true";
  return WriteTensors(path,
                      {{"features", features.to(at::kFloat)},
                       {"adjacency", adjacency},
                       {"node_mask", at::ones({g, n}, at::kByte)},
                       {"split", split},
                       {"graph_id", at::arange(g, at::kLong)},
                       {"node_position", node_position.to(at::kFloat)}},
                      metadata);
}

// Completed graphs of an earlier run with the same spec, if OUT.partial holds them.
Accumulated LoadPartial(const std::string& path, const DatasetSpec& spec) {
  Accumulated acc;
  auto file = SafetensorsFile::Open(path);
  if (!file.ok()) return acc;
  auto it = file->metadata().find("spec");
  if (it == file->metadata().end()) return acc;
  nlohmann::json stored = nlohmann::json::parse(it->second, nullptr, false);
  if (stored.is_discarded()) return acc;
  stored.erase("feature_order");
  if (stored != spec.ToJson()) return acc;  // another spec: start over
  auto tensors = ReadTensors(path);
  if (!tensors.ok()) return acc;
  const at::Tensor& f = tensors->at("features");
  const at::Tensor& a = tensors->at("adjacency");
  if (!tensors->count("node_position")) return acc;
  const at::Tensor& p = tensors->at("node_position");
  for (int64_t i = 0; i < f.size(0); ++i) {
    acc.features.push_back(f[i].clone());
    acc.adjacency.push_back(a[i].clone());
    acc.node_position.push_back(p[i].clone());
  }
  return acc;
}

}  // namespace

nlohmann::json DatasetSpec::ToJson() const {
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
          {"mode", FeatureModeName(features)},
          {"k", features.top_k},
          {"drop_sink", features.drop_sink},
          {"aggregation", features.aggregation == MentionAggregation::kMean ? "mean" : "max"},
          {"permutations", permutations},
          {"seed", seed},
          {"test_fraction", test_fraction},
          {"val_fraction", val_fraction}};
}

uint8_t SplitOfGraph(uint64_t seed, int64_t graph_id, double test_fraction, double val_fraction) {
  const double u =
      SeededRandom::Stream(seed ^ 0x5eed5011177ULL, static_cast<uint64_t>(graph_id)).Uniform();
  if (u < test_fraction) return 2;
  if (u < test_fraction + val_fraction) return 1;
  return 0;
}

absl::Status BuildDataset(const DatasetSpec& spec, const std::string& out_path,
                          const std::function<void(const DatasetProgress&)>& on_progress) {
  if (spec.num_graphs < 1) return absl::InvalidArgumentError("--graphs must be at least 1");
  if (spec.permutations < 1) return absl::InvalidArgumentError("--perms must be at least 1");
  if (spec.batch_size < 1) return absl::InvalidArgumentError("--batch must be at least 1");
  if (spec.test_fraction < 0 || spec.val_fraction < 0 ||
      spec.test_fraction + spec.val_fraction >= 1) {
    return absl::InvalidArgumentError("test and validation fractions must be >= 0 and sum below 1");
  }
  GP_ASSIGN_OR_RETURN(ModelOptions model_options, ParseModelOptions(spec.dtype, spec.device));
  GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromFile(spec.model + "/tokenizer.json"));
  absl::StatusOr<DecoderModel> model = absl::UnknownError("unset");
  if (spec.random_init) {
    GP_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(spec.model));
    model = DecoderModel::RandomInit(config, model_options, spec.init_seed);
  } else {
    model = DecoderModel::Load(spec.model, model_options);
  }
  GP_RETURN_IF_ERROR(model.status());
  const int64_t layers = model->config().num_layers, heads = model->config().num_heads;
  const std::string partial_path = out_path + ".partial";

  Accumulated done = LoadPartial(partial_path, spec);
  DatasetProgress progress{static_cast<int>(done.features.size()), spec.num_graphs,
                           static_cast<int>(done.features.size())};
  const auto start = std::chrono::steady_clock::now();
  c10::InferenceMode inference;

  std::vector<Item> batch;
  std::map<int, std::pair<at::Tensor, int>> pending;  // graph -> (feature sum, orderings seen)
  std::map<int, at::Tensor> position_sum;             // graph -> sum over orderings of [N]
  std::map<int, at::Tensor> adjacency_of;
  auto run_batch = [&]() -> absl::Status {
    if (batch.empty()) return absl::OkStatus();
    size_t max_len = 0, max_k = 0;
    for (const Item& item : batch) {
      max_len = std::max(max_len, item.ids.size());
      max_k = std::max(max_k, item.positions.size());
    }
    const int64_t b = static_cast<int64_t>(batch.size());
    at::Tensor ids = at::zeros({b, static_cast<int64_t>(max_len)}, at::kLong);
    at::Tensor mask = at::zeros_like(ids);
    at::Tensor positions = at::zeros({b, static_cast<int64_t>(max_k)}, at::kLong);
    for (int64_t i = 0; i < b; ++i) {
      for (size_t t = 0; t < batch[i].ids.size(); ++t) {
        ids[i][t] = batch[i].ids[t];
        mask[i][t] = 1;
      }
      for (size_t k = 0; k < batch[i].positions.size(); ++k)
        positions[i][k] = batch[i].positions[k];
    }
    ForwardOptions forward;
    forward.capture = ForwardOptions::Capture::kPositionRows;
    forward.capture_positions = positions;
    const auto t0 = std::chrono::steady_clock::now();
    GP_ASSIGN_OR_RETURN(ForwardOutput out, model->Forward(ids, mask, forward));
    at::Tensor rows = at::stack(out.attentions).to(at::kCPU);  // [L, B, H, K, T]
    progress.forward_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int64_t i = 0; i < b; ++i) {
      const Item& item = batch[i];
      const int64_t len = static_cast<int64_t>(item.ids.size()),
                    k = static_cast<int64_t>(item.positions.size());
      std::vector<int> row_of_token(len, -1);
      for (int64_t r = 0; r < k; ++r) row_of_token[item.positions[r]] = static_cast<int>(r);
      at::Tensor item_rows = rows.select(1, i).narrow(2, 0, k).narrow(3, 0, len);
      GP_ASSIGN_OR_RETURN(at::Tensor features,
                          PairFeatures(item_rows, row_of_token, item.mentions, spec.features));
      auto& [sum, seen] = pending[item.graph];
      sum = sum.defined() ? sum + features : features;
      ++seen;
      at::Tensor positions_of_nodes = at::empty({static_cast<int64_t>(item.mentions.size())});
      for (size_t node = 0; node < item.mentions.size(); ++node) {
        double total = 0;
        int count = 0;
        for (const auto& mention : item.mentions[node]) {
          for (int t : mention) total += t, ++count;
        }
        positions_of_nodes[node] = total / std::max(count, 1);
      }
      at::Tensor& position = position_sum[item.graph];
      position = position.defined() ? position + positions_of_nodes : positions_of_nodes;
    }
    batch.clear();
    // Completed graphs, in id order, join the dataset.
    while (!pending.empty() && pending.begin()->first == static_cast<int>(done.features.size()) &&
           pending.begin()->second.second == spec.permutations) {
      const int g = pending.begin()->first;
      done.features.push_back(pending.begin()->second.first / spec.permutations);
      done.adjacency.push_back(adjacency_of[g]);
      done.node_position.push_back(position_sum[g] / spec.permutations);
      adjacency_of.erase(g);
      position_sum.erase(g);
      pending.erase(pending.begin());
    }
    progress.graphs_done = static_cast<int>(done.features.size());
    progress.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_progress) on_progress(progress);
    return absl::OkStatus();
  };

  int batches_since_checkpoint = 0;
  for (int g = progress.graphs_done; g < spec.num_graphs; ++g) {
    const uint64_t graph_seed = SeededRandom::Stream(spec.seed, static_cast<uint64_t>(g)).Next();
    GP_ASSIGN_OR_RETURN(Graph graph, GenerateGraph(spec.generator, graph_seed));
    GP_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        DrawNodeNames(spec.names, graph.num_nodes, graph_seed ^ 0xa5a5));
    at::Tensor adjacency = at::zeros({graph.num_nodes, graph.num_nodes}, at::kByte);
    for (const auto& [p, c] : graph.edges) adjacency[p][c] = 1;
    adjacency_of[g] = adjacency;
    const std::vector<Ordering> orderings = MakeOrderings(graph, spec.permutations, graph_seed);
    for (int p = 0; p < spec.permutations; ++p) {
      GP_ASSIGN_OR_RETURN(Item item, MakeItem(spec, tokenizer, graph, names, orderings[p], g, p));
      batch.push_back(std::move(item));
      if (static_cast<int>(batch.size()) == spec.batch_size) {
        GP_RETURN_IF_ERROR(run_batch());
        // Checkpoint every 8 batches: a stopped run loses at most that much.
        if (++batches_since_checkpoint == 8) {
          GP_RETURN_IF_ERROR(
              WriteDataset(partial_path, spec, done, layers, heads, /*partial=*/true));
          batches_since_checkpoint = 0;
        }
      }
    }
  }
  GP_RETURN_IF_ERROR(run_batch());
  GP_RETURN_IF_ERROR(WriteDataset(out_path, spec, done, layers, heads, /*partial=*/false));
  std::filesystem::remove(partial_path);
  return absl::OkStatus();
}

}  // namespace gp
