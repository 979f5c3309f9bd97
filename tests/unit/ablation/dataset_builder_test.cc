// `graphprobe dataset` end to end on a reference checkpoint (tiny Llama 3 with a byte-level
// tokenizer.json): the file's contract, batching that changes nothing, resume, fixed splits.
#include "common/ablation/dataset_builder.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/features/pair_features.h"
#include "common/model/tensor_io.h"
#include "tests/unit/ablation/tiny_model_dir.h"

namespace gp {
namespace {

namespace fs = std::filesystem;

class DatasetBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTinyModelScratchDir("gp_dataset_");
    spec_.model = (dir_ / "model").string();
    spec_.num_graphs = 12;
    spec_.generator.num_nodes = 5;
    spec_.prompt.node_header = true;
    spec_.permutations = 2;
    spec_.features = *ParseFeatureMode("topk:3", {});
    spec_.batch_size = 4;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::map<std::string, at::Tensor> Build(const DatasetSpec& spec, const std::string& name) {
    const std::string out = (dir_ / name).string();
    absl::Status status = BuildDataset(spec, out);
    EXPECT_TRUE(status.ok()) << status;
    auto tensors = ReadTensors(out);
    EXPECT_TRUE(tensors.ok());
    return *tensors;
  }
  fs::path dir_;
  DatasetSpec spec_;
};

TEST_F(DatasetBuilderTest, WritesTheDatasetContract) {
  auto d = Build(spec_, "a.safetensors");
  EXPECT_EQ(d["features"].sizes(), (std::vector<int64_t>{12, 5, 5, 2 * 4}));
  EXPECT_EQ(d["features"].scalar_type(), at::kFloat);
  EXPECT_EQ(d["adjacency"].sizes(), (std::vector<int64_t>{12, 5, 5}));
  EXPECT_EQ(d["adjacency"].scalar_type(), at::kByte);
  EXPECT_GT(d["adjacency"].sum().item<int64_t>(), 0);
  EXPECT_EQ(d["adjacency"].diagonal(0, 1, 2).sum().item<int64_t>(), 0);
  EXPECT_TRUE(at::equal(d["node_mask"], at::ones({12, 5}, at::kByte)));
  EXPECT_TRUE(at::equal(d["graph_id"], at::arange(12, at::kLong)));
  // Names and mention offsets for the control task and the positional baseline.
  EXPECT_EQ(d["node_name_id"].sizes(), (std::vector<int64_t>{12, 5}));
  for (int64_t g = 0; g < 12; ++g) {  // distinct names within a graph
    EXPECT_EQ(std::get<0>(at::_unique(d["node_name_id"][g])).numel(), 5);
  }
  const at::Tensor position = d["position_features"];
  EXPECT_EQ(position.sizes(), (std::vector<int64_t>{12, 5, 5, 7}));
  // Offsets from i to j are minus those from j to i; counts at +1 mirror counts at -1.
  EXPECT_TRUE(at::allclose(position.select(3, 0), -position.select(3, 0).transpose(1, 2)));
  EXPECT_TRUE(at::allclose(position.select(3, 1), -position.select(3, 1).transpose(1, 2)));
  EXPECT_TRUE(at::allclose(position.select(3, 5), position.select(3, 4).transpose(1, 2)));
  EXPECT_GT(position.select(3, 2).sum().item<float>(), 0.0f);
  EXPECT_LE(d["split"].max().item<int64_t>(), 2);
  EXPECT_TRUE(at::isfinite(d["features"]).all().item<bool>());
  // topk:3 keeps three keys per query row, so a node's outgoing features sum to at most 3.
  EXPECT_LE(d["features"].sum(1).max().item<float>(), 3.0f + 1e-4f);

  auto file = SafetensorsFile::Open((dir_ / "a.safetensors").string());
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata().at("format"), "graphprobe-dataset-v1");
  auto spec = nlohmann::json::parse(file->metadata().at("spec"));
  EXPECT_EQ(spec["mode"], "topk:3");
  EXPECT_EQ(spec["permutations"], 2);
  EXPECT_EQ(spec["feature_order"]["layers"], 2);
  EXPECT_EQ(spec["feature_order"]["heads"], 4);
  EXPECT_EQ(spec["position_features"].size(), 7u);
  EXPECT_FALSE(fs::exists(dir_ / "a.safetensors.partial"));
}

TEST_F(DatasetBuilderTest, BatchingAndPaddingChangeNothing) {
  auto a = Build(spec_, "a.safetensors");
  DatasetSpec one = spec_;
  one.batch_size = 1;
  auto b = Build(one, "b.safetensors");
  EXPECT_TRUE(at::allclose(a["features"], b["features"], 1e-5, 1e-6));
  EXPECT_TRUE(at::equal(a["adjacency"], b["adjacency"]));
}

TEST_F(DatasetBuilderTest, SplitsAreFixedByGraphIdAcrossModesAndModels) {
  auto a = Build(spec_, "a.safetensors");
  DatasetSpec other = spec_;
  other.features = *ParseFeatureMode("argmax", {});
  other.random_init = true;
  auto b = Build(other, "b.safetensors");
  EXPECT_TRUE(at::equal(a["split"], b["split"]));
  EXPECT_TRUE(at::equal(a["adjacency"], b["adjacency"]));
  EXPECT_FALSE(at::allclose(a["features"], b["features"]));
}

TEST_F(DatasetBuilderTest, ResumesFromTheCheckpointOfAStoppedRun) {
  auto full = Build(spec_, "full.safetensors");
  // What a run stopped after 5 graphs leaves behind.
  nlohmann::json meta = spec_.ToJson();
  meta["feature_order"] = {{"layers", 2}};
  const std::string out = (dir_ / "resumed.safetensors").string();
  std::vector<std::pair<std::string, at::Tensor>> first_five;
  for (const char* name :
       {"features", "adjacency", "node_mask", "node_name_id", "position_features"}) {
    first_five.push_back({name, full[name].narrow(0, 0, 5)});
  }
  ASSERT_TRUE(WriteTensors(out + ".partial", first_five,
                           {{"spec", meta.dump()}, {"format", "graphprobe-dataset-v1"}})
                  .ok());
  int resumed_from = -1;
  ASSERT_TRUE(BuildDataset(spec_, out, [&](const DatasetProgress& p) {
                resumed_from = p.resumed_from;
              }).ok());
  EXPECT_EQ(resumed_from, 5);
  auto resumed = ReadTensors(out);
  ASSERT_TRUE(resumed.ok());
  EXPECT_TRUE(at::allclose(resumed->at("features"), full["features"], 1e-5, 1e-6));
  EXPECT_TRUE(at::allclose(resumed->at("position_features"), full["position_features"]));
  EXPECT_TRUE(at::equal(resumed->at("node_name_id"), full["node_name_id"]));
}

TEST_F(DatasetBuilderTest, APartialFileOfAnotherLayoutIsNotResumed) {
  // One direction, stopped early...
  DatasetSpec one = spec_;
  one.num_graphs = 4;
  const std::string out = (dir_ / "d.safetensors").string();
  ASSERT_TRUE(BuildDataset(one, out).ok());
  fs::rename(out, out + ".partial");
  // ...then the same dataset with both directions: a different identity, built from scratch.
  DatasetSpec both = one;
  both.features.both_directions = true;
  int resumed_from = -1;
  absl::Status status =
      BuildDataset(both, out, [&](const DatasetProgress& p) { resumed_from = p.resumed_from; });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(resumed_from, 0);
  auto d = ReadTensors(out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->at("features").size(3), 2 * 2 * 4);
}

TEST_F(DatasetBuilderTest, TheIdentityCoversEveryOptionThatChangesTheContents) {
  const nlohmann::json base = spec_.ToJson();
  std::vector<std::pair<std::string, std::function<void(DatasetSpec&)>>> changes = {
      {"model", [](DatasetSpec& s) { s.model += "x"; }},
      {"random_init", [](DatasetSpec& s) { s.random_init = true; }},
      {"init_seed", [](DatasetSpec& s) { s.init_seed = 9; }},
      {"dtype", [](DatasetSpec& s) { s.dtype = "bfloat16"; }},
      {"graphs", [](DatasetSpec& s) { s.num_graphs += 1; }},
      {"nodes", [](DatasetSpec& s) { s.generator.num_nodes += 1; }},
      {"generator", [](DatasetSpec& s) { s.generator.kind = GeneratorKind::kTree; }},
      {"edge_probability", [](DatasetSpec& s) { s.generator.edge_probability = 0.3; }},
      {"expected_degree", [](DatasetSpec& s) { s.generator.expected_degree = 3; }},
      {"num_trees", [](DatasetSpec& s) { s.generator.num_trees += 1; }},
      {"names", [](DatasetSpec& s) { s.names = NameScheme::kWords; }},
      {"notation", [](DatasetSpec& s) { s.prompt.notation = Notation::kParents; }},
      {"separator", [](DatasetSpec& s) { s.prompt.separator = Separator::kNewline; }},
      {"node_header", [](DatasetSpec& s) { s.prompt.node_header = false; }},
      {"preamble", [](DatasetSpec& s) { s.prompt.preamble = "Graph:"; }},
      {"question", [](DatasetSpec& s) { s.prompt.question = "Parents of A:"; }},
      {"mode", [](DatasetSpec& s) { s.features.mode = FeatureMode::kArgmax; }},
      {"k", [](DatasetSpec& s) { s.features.top_k += 1; }},
      {"top_k_ones", [](DatasetSpec& s) { s.features.top_k_ones = true; }},
      {"drop_sink", [](DatasetSpec& s) { s.features.drop_sink = true; }},
      {"aggregation", [](DatasetSpec& s) { s.features.aggregation = MentionAggregation::kMax; }},
      {"both_directions", [](DatasetSpec& s) { s.features.both_directions = true; }},
      {"permutations", [](DatasetSpec& s) { s.permutations += 1; }},
      {"seed", [](DatasetSpec& s) { s.seed += 1; }},
      {"test_fraction", [](DatasetSpec& s) { s.test_fraction = 0.3; }},
      {"val_fraction", [](DatasetSpec& s) { s.val_fraction = 0.2; }},
  };
  for (const auto& [field, change] : changes) {
    DatasetSpec changed = spec_;
    change(changed);
    const nlohmann::json json = changed.ToJson();
    EXPECT_NE(json, base) << field;
    EXPECT_NE(json[field], base[field]) << field;
  }
  // How it is computed is not what it is.
  DatasetSpec same = spec_;
  same.batch_size = 99;
  same.device = "cuda";
  EXPECT_EQ(same.ToJson(), base);
}

TEST_F(DatasetBuilderTest, ModesOfOneFamilyShareOneForwardPassAndEqualSeparateBuilds) {
  std::vector<DatasetSpec> specs;
  std::vector<std::string> paths;
  for (const char* mode : {"raw", "argmax+drop-sink", "topk1:2+max+both"}) {
    DatasetSpec s = spec_;
    s.features = *ParseFeatureMode(mode, {});
    specs.push_back(s);
    paths.push_back((dir_ / absl::StrCat("family-", specs.size(), ".safetensors")).string());
  }
  ASSERT_TRUE(BuildDatasets(specs, paths).ok());
  for (size_t i = 0; i < specs.size(); ++i) {
    auto together = ReadTensors(paths[i]);
    ASSERT_TRUE(together.ok());
    auto alone = Build(specs[i], absl::StrCat("alone-", i, ".safetensors"));
    for (const char* name : {"features", "position_features"}) {
      EXPECT_TRUE(at::allclose(together->at(name), alone[name], 1e-5, 1e-6)) << name << " " << i;
    }
    EXPECT_TRUE(at::equal(together->at("adjacency"), alone["adjacency"]));
  }
  // Specs of different families cannot share a pass.
  specs[1].seed += 1;
  absl::Status mixed = BuildDatasets(specs, paths);
  EXPECT_EQ(mixed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mixed.message().find("differ only in their feature options"), std::string::npos);
}

TEST_F(DatasetBuilderTest, WithoutTheHeaderUnmentionedNodesAreMaskedNotAnError) {
  DatasetSpec spec = spec_;
  spec.prompt.node_header = false;
  spec.generator.edge_probability = 0.1;  // isolated nodes are common
  spec.num_graphs = 20;
  auto d = Build(spec, "no-header.safetensors");
  const at::Tensor mask = d["node_mask"].to(at::kBool);
  const at::Tensor adjacency = d["adjacency"].to(at::kBool);
  const at::Tensor has_edge = adjacency.any(2).logical_or(adjacency.any(1));
  // Exactly the nodes without an edge are masked in the arrow notation, and some are.
  EXPECT_TRUE(at::equal(mask, has_edge));
  EXPECT_GT((~mask).sum().item<int64_t>(), 0);
  // Their features are zero; the mentioned nodes' are not.
  const at::Tensor pair_mask = mask.unsqueeze(2).logical_and(mask.unsqueeze(1));
  const at::Tensor magnitude = d["features"].abs().sum(3);
  EXPECT_EQ(magnitude.masked_select(~pair_mask).sum().item<float>(), 0.0f);
  EXPECT_GT(magnitude.masked_select(pair_mask).sum().item<float>(), 0.0f);
}

TEST_F(DatasetBuilderTest, ClearErrors) {
  DatasetSpec no_tokenizer = spec_;
  fs::remove(dir_ / "model/tokenizer.json");
  absl::Status status = BuildDataset(no_tokenizer, (dir_ / "x.safetensors").string());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(status.message().find("tokenizer.json"), std::string::npos);
  DatasetSpec bad = spec_;
  bad.permutations = 0;
  absl::Status permutations = BuildDataset(bad, (dir_ / "x.safetensors").string());
  EXPECT_EQ(permutations.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(permutations.message(), "permutations 0: must be >= 1");  // the field, not a flag
  DatasetSpec dtype = spec_;
  dtype.dtype = "float16";
  absl::Status bad_dtype = BuildDataset(dtype, (dir_ / "x.safetensors").string());
  EXPECT_EQ(bad_dtype.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_dtype.message(), "dtype 'float16': expected float32 or bfloat16");
}

}  // namespace
}  // namespace gp

namespace gp {
namespace {

// Wraps another source, counting the prompts it was asked for.
class CountingSource : public AttentionSource {
 public:
  explicit CountingSource(AttentionSource* inner) : inner_(inner) {}
  SourceShape shape() const override { return inner_->shape(); }
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override {
    prompts_ += static_cast<int>(prompts.size());
    ++calls_;
    pooled_modes_ = static_cast<int>(pool.size());
    return inner_->Capture(prompts, pool, cancel);
  }
  int prompts_ = 0, calls_ = 0, pooled_modes_ = 0;

 private:
  AttentionSource* inner_;
};

TEST_F(DatasetBuilderTest, AnyAttentionSourceBuildsTheSameDatasetInBatches) {
  auto local = Build(spec_, "local.safetensors");
  ModelCache cache(1);
  auto inner = LocalAttentionSource::Create(ModelRefOf(spec_), &cache, 3);
  ASSERT_TRUE(inner.ok()) << inner.status();
  CountingSource counting(inner->get());
  DatasetBuildOptions options;
  options.source = &counting;
  const std::string out = (dir_ / "sourced.safetensors").string();
  ASSERT_TRUE(BuildDatasets({spec_}, {out}, options).ok());
  EXPECT_EQ(counting.prompts_, 12 * 2);      // graphs x orderings
  EXPECT_EQ(counting.calls_, (24 + 3) / 4);  // batches of spec.batch_size = 4
  EXPECT_EQ(counting.pooled_modes_, 1);      // pooled by the source: no rows asked for
  auto sourced = ReadTensors(out);
  ASSERT_TRUE(sourced.ok());
  for (const char* name : {"features", "position_features"}) {
    EXPECT_TRUE(at::allclose(sourced->at(name), local[name], 1e-5, 1e-6)) << name;
  }
}

TEST_F(DatasetBuilderTest, CancellingStopsBetweenBatchesAndKeepsTheCheckpointForAResume) {
  std::atomic<bool> cancel{false};
  DatasetBuildOptions options;
  options.cancel = &cancel;
  int progress_calls = 0;
  options.on_progress = [&](const DatasetProgress&) {
    if (++progress_calls == 2) cancel = true;
  };
  DatasetSpec spec = spec_;
  spec.batch_size = 1;
  const std::string out = (dir_ / "cancelled.safetensors").string();
  absl::Status status = BuildDatasets({spec}, {out}, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(progress_calls, 2);  // no forward pass after the flag was set
  EXPECT_FALSE(fs::exists(out));
}

// The tiny model of a scratch directory, as a request names it.
ModelRef TinyModelRef(const fs::path& dir) {
  ModelRef ref;
  ref.path = (dir / "model").string();
  return ref;
}

// The local source batches prompts by length: each prompt's rows still come back in its own
// slot, equal to a forward of that prompt alone, and a prompt that mentions no node stays
// without rows. Pooled in the batch, each prompt's features equal its own rows pooled on the
// host, with a node the prompt never mentions left at zero.
TEST(BatchesByLengthTest, ShortestFirstStableAndSkipsEmptyPrompts) {
  // Lengths 5, 0 (nothing to run), 3, 5, 3, 9 in batches of 2: 3s, then 5s, then the 9.
  const std::vector<std::vector<size_t>> batches = BatchesByLength({5, 0, 3, 5, 3, 9}, 2);
  EXPECT_EQ(batches, (std::vector<std::vector<size_t>>{{2, 4}, {0, 3}, {5}}));
  EXPECT_TRUE(BatchesByLength({0, 0}, 4).empty());
}

TEST(LocalAttentionSourceTest, BatchesByLengthAndAnswersInTheRequestsOrder) {
  const fs::path dir = testing::MakeTinyModelScratchDir("gp_source_");
  ModelCache cache(1);
  const ModelRef ref = TinyModelRef(dir);
  const auto prompt = [](const std::string& text) {
    CapturePrompt p{text, {{}, {}}};
    for (int node = 0; node < 2; ++node) {
      const std::string name(1, static_cast<char>('A' + node));
      for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
        p.mentions[node].push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(at + 1)});
      }
    }
    return p;
  };
  const std::vector<CapturePrompt> prompts = {
      prompt("A -> B, and then a much longer tail of text after it, A -> B again"),
      prompt("B -> A"), prompt("no node here"), prompt("A -> B, B -> A, A"), prompt("only A here")};
  const std::vector<FeatureOptions> pool = {*ParseFeatureMode("raw", {}),
                                            *ParseFeatureMode("topk:3+drop-sink+max+both", {})};
  auto batched = LocalAttentionSource::Create(ref, &cache, 2);
  auto single = LocalAttentionSource::Create(ref, &cache, 1);
  ASSERT_TRUE(batched.ok() && single.ok());
  auto together = (*batched)->Capture(prompts, {}, nullptr);
  auto pooled = (*batched)->Capture(prompts, pool, nullptr);
  ASSERT_TRUE(together.ok()) << together.status();
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(together->size(), prompts.size());
  ASSERT_EQ(pooled->size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = (*single)->Capture({prompts[i]}, {}, nullptr);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ((*together)[i].prompt.ids, (*alone)[0].prompt.ids) << i;
    const CapturedAttention& rows = (*together)[i].attention;
    ASSERT_EQ(rows.rows.defined(), i != 2) << i;
    EXPECT_TRUE(rows.features.empty()) << i;
    const CapturedAttention& features = (*pooled)[i].attention;
    EXPECT_FALSE(features.rows.defined()) << i;
    if (i == 2) {
      EXPECT_TRUE(features.features.empty());
      continue;
    }
    EXPECT_TRUE(at::allclose(rows.rows, (*alone)[0].attention.rows, 1e-5, 1e-7)) << i;
    // Host pooling over the mentioned nodes, scattered into both nodes' places.
    const PreparedPrompt& p = (*together)[i].prompt;
    std::vector<std::vector<std::vector<int>>> mentioned;
    for (const auto& node : p.mentions) {
      if (!node.empty()) mentioned.push_back(node);
    }
    ASSERT_EQ(features.features.size(), pool.size());
    for (size_t k = 0; k < pool.size(); ++k) {
      auto host =
          PairFeatures(rows.rows, RowOfToken(p.positions, p.ids.size()), mentioned, pool[k]);
      ASSERT_TRUE(host.ok()) << host.status();
      const at::Tensor& f = features.features[k];
      ASSERT_EQ(f.sizes(), at::IntArrayRef({2, 2, host->size(2)})) << i;
      if (mentioned.size() == 2) {
        EXPECT_TRUE(at::allclose(f, *host, 1e-5, 1e-6)) << i << " " << k;
      } else {  // "only A here": node B has no mentions, so its pairs are zero
        EXPECT_TRUE(at::allclose(f[0][0], (*host)[0][0], 1e-5, 1e-6)) << k;
        EXPECT_EQ(f[1].abs().sum().item<float>(), 0.0f) << k;
        EXPECT_EQ(f.select(1, 1).abs().sum().item<float>(), 0.0f) << k;
      }
    }
  }
  fs::remove_all(dir);
}

TEST(PendingHostCopyTest, AHostTensorIsReadyAtOnceAndComesBackContiguous) {
  PendingHostCopy none;
  EXPECT_FALSE(none.started());
  const at::Tensor t = at::arange(12, at::kFloat).view({3, 4}).t();  // not contiguous
  PendingHostCopy pending = PendingHostCopy::Start(t);
  EXPECT_TRUE(pending.started());
  EXPECT_TRUE(pending.ready());
  const at::Tensor host = pending.Wait();
  EXPECT_TRUE(host.is_contiguous());
  EXPECT_TRUE(at::equal(host, t));
}

// Pooling on the model's device (StartCapture with modes, what the local source and a GPU
// extractor run) equals the rows brought to the host and pooled per prompt, in every mode of
// one pass; two batches in flight at once (the next started before this one is finished)
// give each its own.
TEST(StartCaptureTest, PoolingWhereTheForwardRanEqualsPoolingOnTheHost) {
  const fs::path dir = testing::MakeTinyModelScratchDir("gp_capture_");
  ModelCache cache(1);
  const ModelRef ref = TinyModelRef(dir);
  auto loaded = cache.Get(ref);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::vector<PreparedPrompt> prepared;
  for (int g = 0; g < 4; ++g) {
    DatasetSpec spec;
    spec.model = ref.path;
    spec.generator.num_nodes = 4 + g;
    spec.prompt.node_header = true;
    auto graph = DatasetGraphOf(spec, g);
    ASSERT_TRUE(graph.ok()) << graph.status();
    const Prompt& text = graph->prompts[0];
    auto p = PreparePrompt((*loaded)->tokenizer, {text.text, text.mentions});
    ASSERT_TRUE(p.ok()) << p.status();
    prepared.push_back(*std::move(p));
  }
  auto rows = CaptureRows((*loaded)->model, prepared);
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<FeatureOptions> modes;
  for (const char* mode : {"raw", "argmax+drop-sink", "topk:3+max+both"}) {
    modes.push_back(*ParseFeatureMode(mode, {}));
  }
  const std::vector<PreparedPrompt> first(prepared.begin(), prepared.begin() + 3);
  const std::vector<PreparedPrompt> second(prepared.begin() + 3, prepared.end());
  auto first_pending = StartCapture((*loaded)->model, first, modes);
  ASSERT_TRUE(first_pending.ok()) << first_pending.status();
  auto second_pending = StartCapture((*loaded)->model, second, modes);
  ASSERT_TRUE(second_pending.ok()) << second_pending.status();
  std::vector<CapturedAttention> captured = first_pending->Finish();
  for (CapturedAttention& c : second_pending->Finish()) captured.push_back(std::move(c));
  ASSERT_EQ(captured.size(), prepared.size());
  for (size_t b = 0; b < prepared.size(); ++b) {
    EXPECT_FALSE(captured[b].rows.defined());
    ASSERT_EQ(captured[b].features.size(), modes.size());
    for (size_t k = 0; k < modes.size(); ++k) {
      auto alone =
          PairFeatures((*rows)[b], RowOfToken(prepared[b].positions, prepared[b].ids.size()),
                       prepared[b].mentions, modes[k]);
      ASSERT_TRUE(alone.ok()) << alone.status();
      EXPECT_EQ(alone->size(0), static_cast<int64_t>(4 + b));
      ASSERT_EQ(captured[b].features[k].sizes(), alone->sizes()) << "prompt " << b;
      EXPECT_TRUE(at::allclose(captured[b].features[k], *alone, 1e-5, 1e-6))
          << FeatureModeName(modes[k]) << ", prompt " << b;
    }
  }
  fs::remove_all(dir);
}

TEST(ModelCacheTest, LoadsOnceAndEvictsTheLeastRecentlyUsed) {
  const fs::path dir = testing::MakeTinyModelScratchDir("gp_cache_");
  ModelCache cache(1);
  const ModelRef ref = TinyModelRef(dir);
  auto a = cache.Get(ref);
  auto again = cache.Get(ref);
  ASSERT_TRUE(a.ok() && again.ok()) << a.status();
  EXPECT_EQ(a->get(), again->get());
  EXPECT_EQ(cache.loads(), 1);
  ModelRef twin = ref;
  twin.random_init = true;
  ASSERT_TRUE(cache.Get(twin).ok());
  EXPECT_EQ(cache.loads(), 2);
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_TRUE(cache.Get(ref).ok());  // evicted: loaded again
  EXPECT_EQ(cache.loads(), 3);
  EXPECT_NE(ref.Key(), twin.Key());
  ModelRef missing = ref;
  missing.path = (dir / "nowhere").string();
  auto error = cache.Get(missing);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gp
