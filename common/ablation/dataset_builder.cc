// Dataset building: prompts, batched capture of node-token attention rows (from any
// AttentionSource), features of every requested mode, checkpoints and the dataset files.
#include "common/ablation/dataset_builder.h"

#include <ATen/ATen.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/hash.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/graph/random.h"
#include "common/model/tensor_io.h"

namespace gp {
namespace {

constexpr const char* kFormat = "graphprobe-dataset-v1";

// One captured prompt of one graph: the nodes it mentions (the others are masked: there is no
// attention to read for them), their mention tokens, and its features in every output's mode.
struct Item {
  int graph;
  std::vector<int> mentioned;                           // the nodes the prompt mentions, ascending
  std::vector<std::vector<std::vector<int>>> mentions;  // [mentioned node][mention] -> tokens
  std::vector<at::Tensor> features;                     // [output] -> [N, N, F]
};

Item ItemOf(int graph, CapturedPrompt captured) {
  Item item{graph, {}, {}, std::move(captured.attention.features)};
  for (size_t node = 0; node < captured.prompt.mentions.size(); ++node) {
    if (captured.prompt.mentions[node].empty()) continue;
    item.mentioned.push_back(static_cast<int>(node));
    item.mentions.push_back(std::move(captured.prompt.mentions[node]));
  }
  return item;
}

// A stable id of a node name (FNV-1a), the same in every dataset: the control task gives each
// pair of names one label.
int64_t NameId(const std::string& name) { return static_cast<int64_t>(Fnv1a64(name) >> 1); }

// [N, N, 7]: offsets from node i's mentions to node j's (first tokens), see
// PositionFeatureNames; zero where a node is not mentioned.
at::Tensor PositionFeatures(const Item& item, int64_t n) {
  at::Tensor out = at::zeros({n, n, static_cast<int64_t>(PositionFeatureNames().size())});
  auto f = out.accessor<float, 3>();
  for (size_t a = 0; a < item.mentioned.size(); ++a) {
    for (size_t b = 0; b < item.mentioned.size(); ++b) {
      if (a == b) continue;
      auto row = f[item.mentioned[a]][item.mentioned[b]];
      double sum = 0;
      int pairs = 0, nearest = INT_MAX;
      bool before = false, after = false;  // the nearest distance occurs backwards / forwards
      for (const auto& from : item.mentions[a]) {
        for (const auto& to : item.mentions[b]) {
          const int d = to.front() - from.front();
          sum += d;
          ++pairs;
          if (std::abs(d) < nearest) nearest = std::abs(d), before = after = false;
          if (std::abs(d) == nearest) (d < 0 ? before : after) = true;
          if (d >= -2 && d <= -1) row[d + 5] += 1;  // channels 3, 4: offsets -2, -1
          if (d >= 1 && d <= 2) row[d + 4] += 1;    // channels 5, 6: offsets +1, +2
        }
      }
      row[0] = static_cast<float>(sum / pairs);
      // Signed nearest offset; 0 when it occurs both ways (no direction), so i->j is always
      // minus j->i.
      row[1] = static_cast<float>(before == after ? 0 : (after ? nearest : -nearest));
      row[2] = static_cast<float>(nearest);
    }
  }
  return out;
}

// Completed graphs: per output its features, and what every output shares.
struct Accumulated {
  std::vector<std::vector<at::Tensor>> features;  // [output][graph] -> [N, N, F]
  std::vector<at::Tensor> adjacency;              // [graph] -> U8 [N, N]
  std::vector<at::Tensor> node_mask;              // [graph] -> U8 [N]
  std::vector<at::Tensor> node_name_id;           // [graph] -> I64 [N]
  std::vector<at::Tensor> position_features;      // [graph] -> F32 [N, N, 7]
  size_t size() const { return adjacency.size(); }
};

absl::Status WriteDataset(const std::string& path, const DatasetSpec& spec, const Accumulated& acc,
                          size_t output, int64_t layers, int64_t heads, bool partial) {
  const int64_t g = static_cast<int64_t>(acc.size());
  const int64_t n = spec.generator.num_nodes;
  const auto stack = [&](const std::vector<at::Tensor>& parts, at::IntArrayRef empty_shape,
                         at::ScalarType dtype) {
    return g > 0 ? at::stack(parts).to(dtype) : at::zeros(empty_shape, dtype);
  };
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
  meta["position_features"] = PositionFeatureNames();
  SafetensorsMetadata metadata = {{"spec", meta.dump()}, {"format", kFormat}};
  if (partial) metadata["partial"] = "true";
  const int64_t f = layers * heads * spec.features.directions();
  const int64_t p = static_cast<int64_t>(PositionFeatureNames().size());
  return WriteTensors(
      path,
      {{"features", stack(acc.features[output], {0, n, n, f}, at::kFloat)},
       {"adjacency", stack(acc.adjacency, {0, n, n}, at::kByte)},
       {"node_mask", stack(acc.node_mask, {0, n}, at::kByte)},
       {"split", split},
       {"graph_id", at::arange(g, at::kLong)},
       {"node_name_id", stack(acc.node_name_id, {0, n}, at::kLong)},
       {"position_features", stack(acc.position_features, {0, n, n, p}, at::kFloat)}},
      metadata);
}

// The completed graphs of an earlier run with the same spec in OUT.partial: features of one
// output plus the shared tensors. Anything unexpected (another spec, other shapes, a damaged
// file) means starting over, never a crash.
Accumulated LoadPartial(const std::string& path, const DatasetSpec& spec, int64_t features) {
  Accumulated acc;
  acc.features.resize(1);
  auto file = SafetensorsFile::Open(path);
  if (!file.ok()) return acc;
  auto it = file->metadata().find("spec");
  if (it == file->metadata().end()) return acc;
  nlohmann::json stored = nlohmann::json::parse(it->second, nullptr, false);
  if (!stored.is_object()) return acc;
  stored.erase("feature_order");
  stored.erase("position_features");
  if (stored != spec.ToJson()) return acc;  // another spec: start over
  auto tensors = ReadTensors(path);
  if (!tensors.ok()) return acc;
  const int64_t n = spec.generator.num_nodes;
  for (const char* name :
       {"features", "adjacency", "node_mask", "node_name_id", "position_features"}) {
    if (!tensors->count(name)) return acc;
  }
  const at::Tensor& f = tensors->at("features");
  const int64_t g = f.size(0);
  if (f.dim() != 4 || f.size(1) != n || f.size(2) != n || f.size(3) != features) return acc;
  for (const char* name : {"adjacency", "node_mask", "node_name_id", "position_features"}) {
    const at::Tensor& t = tensors->at(name);
    if (t.dim() < 2 || t.size(0) != g || t.size(1) != n) return acc;
  }
  for (int64_t i = 0; i < g; ++i) {
    acc.features[0].push_back(f[i].clone());
    acc.adjacency.push_back(tensors->at("adjacency")[i].clone());
    acc.node_mask.push_back(tensors->at("node_mask")[i].clone());
    acc.node_name_id.push_back(tensors->at("node_name_id")[i].clone());
    acc.position_features.push_back(tensors->at("position_features")[i].clone());
  }
  return acc;
}

absl::Status CheckSpec(const DatasetSpec& spec) {
  if (spec.num_graphs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("graphs ", spec.num_graphs, ": must be >= 1"));
  }
  if (spec.permutations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("permutations ", spec.permutations, ": must be >= 1"));
  }
  if (spec.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size ", spec.batch_size, ": must be >= 1"));
  }
  if (spec.test_fraction < 0 || spec.val_fraction < 0 ||
      spec.test_fraction + spec.val_fraction >= 1) {
    return absl::InvalidArgumentError(
        "test_fraction and val_fraction must be >= 0 and sum below 1");
  }
  return ParseModelOptions(spec.dtype, spec.device).status();
}

absl::Status BuildFamily(const std::vector<DatasetSpec>& specs,
                         const std::vector<std::string>& out_paths, AttentionSource& source,
                         const DatasetBuildOptions& options) {
  const DatasetSpec& spec = specs[0];
  const int64_t layers = source.shape().layers, heads = source.shape().heads;
  const int64_t n = spec.generator.num_nodes;
  const size_t outputs = specs.size();

  // Resume from the graphs every output's partial file holds.
  Accumulated done;
  size_t resumable = SIZE_MAX;
  for (size_t o = 0; o < outputs; ++o) {
    Accumulated partial = LoadPartial(out_paths[o] + ".partial", specs[o],
                                      layers * heads * specs[o].features.directions());
    resumable = std::min(resumable, partial.size());
    done.features.push_back(std::move(partial.features[0]));
    if (o == 0) {
      done.adjacency = std::move(partial.adjacency);
      done.node_mask = std::move(partial.node_mask);
      done.node_name_id = std::move(partial.node_name_id);
      done.position_features = std::move(partial.position_features);
    }
  }
  for (auto& f : done.features) f.resize(resumable);
  done.adjacency.resize(resumable);
  done.node_mask.resize(resumable);
  done.node_name_id.resize(resumable);
  done.position_features.resize(resumable);

  DatasetProgress progress{static_cast<int>(done.size()), spec.num_graphs,
                           static_cast<int>(done.size())};
  const auto start = std::chrono::steady_clock::now();

  // Graphs in flight: the sums over the orderings seen so far.
  struct Pending {
    std::vector<at::Tensor> features;  // per output
    at::Tensor positions;
    at::Tensor adjacency, node_mask, node_name_id;
    int seen = 0;
  };
  std::map<int, Pending> pending;
  std::vector<CapturePrompt> prompts;
  std::vector<int> prompt_graph;
  // Every output's mode pooled where the forward ran: only [N, N, F] per mode reaches here.
  std::vector<FeatureOptions> pool;
  for (const DatasetSpec& s : specs) pool.push_back(s.features);
  // Captures the collected prompts, pools every output's features, and moves completed graphs
  // into the dataset.
  auto run_batch = [&]() -> absl::Status {
    if (!prompts.empty()) {
      if (options.cancel != nullptr && options.cancel->load()) {
        return absl::CancelledError("dataset build cancelled");
      }
      const auto t0 = std::chrono::steady_clock::now();
      GP_ASSIGN_OR_RETURN(std::vector<CapturedPrompt> captured,
                          source.Capture(prompts, pool, options.cancel));
      progress.forward_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (captured.size() != prompts.size()) {
        return absl::InternalError(absl::StrCat("the attention source returned ", captured.size(),
                                                " prompts for ", prompts.size()));
      }
      for (size_t i = 0; i < captured.size(); ++i) {
        const Item item = ItemOf(prompt_graph[i], std::move(captured[i]));
        Pending& sums = pending[item.graph];
        if (sums.seen == 0) {  // which nodes are mentioned does not depend on the ordering
          for (int node : item.mentioned) sums.node_mask[node] = 1;
        }
        ++sums.seen;
        if (item.mentioned.empty()) continue;  // nothing to read: every node stays masked
        if (item.features.size() != outputs) {
          return absl::InternalError(absl::StrCat("the attention source pooled ",
                                                  item.features.size(), " modes of ", outputs));
        }
        for (size_t o = 0; o < outputs; ++o) {
          if (!item.features[o].sizes().equals(sums.features[o].sizes())) {
            return absl::InternalError(absl::StrCat(
                "the attention source pooled features of shape ",
                c10::str(item.features[o].sizes()), " for ", c10::str(sums.features[o].sizes())));
          }
          sums.features[o] += item.features[o];  // unmentioned nodes' pairs are zero
        }
        sums.positions += PositionFeatures(item, n);
      }
      prompts.clear();
      prompt_graph.clear();
    }
    // Completed graphs, in id order, join the dataset.
    while (!pending.empty() && pending.begin()->first == static_cast<int>(done.size()) &&
           pending.begin()->second.seen == spec.permutations) {
      Pending& g = pending.begin()->second;
      for (size_t o = 0; o < outputs; ++o) {
        done.features[o].push_back(g.features[o] / spec.permutations);
      }
      done.adjacency.push_back(g.adjacency);
      done.node_mask.push_back(g.node_mask);
      done.node_name_id.push_back(g.node_name_id);
      done.position_features.push_back(g.positions / spec.permutations);
      pending.erase(pending.begin());
    }
    progress.graphs_done = static_cast<int>(done.size());
    progress.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options.on_progress) options.on_progress(progress);
    return absl::OkStatus();
  };

  const auto write_all = [&](bool partial) -> absl::Status {
    for (size_t o = 0; o < outputs; ++o) {
      GP_RETURN_IF_ERROR(WriteDataset(partial ? out_paths[o] + ".partial" : out_paths[o], specs[o],
                                      done, o, layers, heads, partial));
    }
    return absl::OkStatus();
  };
  int batches_since_checkpoint = 0;
  for (int g = progress.graphs_done; g < spec.num_graphs; ++g) {
    GP_ASSIGN_OR_RETURN(DatasetGraph item, DatasetGraphOf(spec, g));
    const Graph& graph = item.graph;
    const std::vector<std::string>& names = item.names;
    Pending& sums = pending[g];
    for (size_t o = 0; o < outputs; ++o) {
      sums.features.push_back(at::zeros({n, n, layers * heads * specs[o].features.directions()}));
    }
    sums.positions = at::zeros({n, n, static_cast<int64_t>(PositionFeatureNames().size())});
    sums.adjacency = at::zeros({n, n}, at::kByte);
    for (const auto& [p, c] : graph.edges) sums.adjacency[p][c] = 1;
    sums.node_mask = at::zeros({n}, at::kByte);
    sums.node_name_id = at::empty({n}, at::kLong);
    for (int node = 0; node < n; ++node) sums.node_name_id[node] = NameId(names[node]);
    for (Prompt& prompt : item.prompts) {
      prompts.push_back({std::move(prompt.text), std::move(prompt.mentions)});
      prompt_graph.push_back(g);
      if (static_cast<int>(prompts.size()) == spec.batch_size) {
        GP_RETURN_IF_ERROR(Annotate(run_batch(), absl::StrCat("graph ", g)));
        // Checkpoint every 8 batches: a stopped run loses at most that much.
        if (++batches_since_checkpoint == 8) {
          GP_RETURN_IF_ERROR(write_all(/*partial=*/true));
          batches_since_checkpoint = 0;
        }
      }
    }
  }
  GP_RETURN_IF_ERROR(run_batch());
  GP_RETURN_IF_ERROR(write_all(/*partial=*/false));
  for (const std::string& path : out_paths) std::filesystem::remove(path + ".partial");
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& PositionFeatureNames() {
  static const std::vector<std::string> names = {
      "mean_offset",     "nearest_offset",  "nearest_distance", "count_offset_-2",
      "count_offset_-1", "count_offset_+1", "count_offset_+2"};
  return names;
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
  DatasetBuildOptions options;
  options.on_progress = on_progress;
  return BuildDatasets({spec}, {out_path}, options);
}

ModelRef ModelRefOf(const DatasetSpec& spec) {
  return {spec.model, spec.random_init, spec.init_seed, spec.dtype, spec.device};
}

absl::StatusOr<DatasetGraph> DatasetGraphOf(const DatasetSpec& spec, int g) {
  const uint64_t graph_seed = SeededRandom::Stream(spec.seed, static_cast<uint64_t>(g)).Next();
  DatasetGraph out;
  GP_ASSIGN_OR_RETURN(out.graph, GenerateGraph(spec.generator, graph_seed));
  GP_ASSIGN_OR_RETURN(out.names,
                      DrawNodeNames(spec.names, out.graph.num_nodes, graph_seed ^ 0xa5a5));
  const std::vector<Ordering> orderings = MakeOrderings(out.graph, spec.permutations, graph_seed);
  for (const Ordering& ordering : orderings) {
    GP_ASSIGN_OR_RETURN(Prompt prompt, RenderPrompt(out.graph, out.names, spec.prompt, ordering));
    out.prompts.push_back(std::move(prompt));
  }
  return out;
}

absl::Status BuildDatasets(const std::vector<DatasetSpec>& specs,
                           const std::vector<std::string>& out_paths,
                           const DatasetBuildOptions& options) {
  if (specs.empty() || specs.size() != out_paths.size()) {
    return absl::InvalidArgumentError("one output path per dataset spec is needed");
  }
  GP_RETURN_IF_ERROR(CheckSpec(specs[0]));
  for (const DatasetSpec& other : specs) {
    if (other.FamilyJson() != specs[0].FamilyJson()) {
      return absl::InvalidArgumentError(
          "datasets built together must differ only in their feature options");
    }
  }
  try {
    if (options.source != nullptr) return BuildFamily(specs, out_paths, *options.source, options);
    ModelCache own_cache(1);
    ModelCache* cache = options.cache != nullptr ? options.cache : &own_cache;
    GP_ASSIGN_OR_RETURN(
        std::unique_ptr<LocalAttentionSource> local,
        LocalAttentionSource::Create(ModelRefOf(specs[0]), cache, specs[0].batch_size));
    return BuildFamily(specs, out_paths, *local, options);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("building the dataset failed: ", e.what_without_backtrace()));
  }
}

}  // namespace gp
