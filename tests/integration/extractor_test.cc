// The extractor service as real processes on loopback: datasets built through two extractors
// equal the in-process build (up to float32 rounding of batch padding with a float32 wire,
// within bfloat16 rounding with a bfloat16 wire), work spreads over both, a killed extractor's
// prompts finish on the other, bad requests get the right status code and message while the server
// keeps serving, an ended request's waiting work is withdrawn, and SIGTERM drains.
#include <ATen/ATen.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "common/ablation/dataset_builder.h"
#include "common/model/config.h"
#include "common/model/tensor_io.h"
#include "common/rpc/remote_attention_source.h"
#include "common/rpc/server.h"
#include "common/rpc/tensor_wire.h"
#include "graphprobe/v1/extractor.grpc.pb.h"
#include "services/extractor/extractor_service.h"
#include "services/extractor/in_process_source.h"
#include "tests/integration/features_match.h"
#include "tests/integration/service_process.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;

class ExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gp_extractor_" + std::to_string(getpid()));
    fs::create_directories(root_ / "models");
    fs::copy(GP_TOY_MODEL_DIR, root_ / "models" / "graph-toy", fs::copy_options::recursive);
    spec_.num_graphs = 40;
    spec_.generator.num_nodes = 6;
    spec_.permutations = 2;
    spec_.batch_size = 16;
    spec_.features = *ParseFeatureMode("topk:3+drop-sink", {});
  }
  void TearDown() override { fs::remove_all(root_); }

  // The shipped toy model's depth, from its config (the model is retrained now and then).
  static int64_t ToyLayers() {
    auto config = LoadModelConfig(GP_TOY_MODEL_DIR);
    EXPECT_TRUE(config.ok()) << config.status();
    return config.ok() ? config->num_layers : -1;
  }

  std::map<std::string, at::Tensor> BuildLocal(const std::string& name) {
    DatasetSpec spec = spec_;
    spec.model = (root_ / "models" / "graph-toy").string();
    const std::string out = (root_ / name).string();
    EXPECT_TRUE(BuildDataset(spec, out).ok());
    return *ReadTensors(out);
  }
  std::unique_ptr<pb::Extractor::Stub> Stub(const std::string& address) {
    return pb::Extractor::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  RemoteSourceOptions Remote(const std::vector<std::string>& addresses) {
    RemoteSourceOptions options;
    options.extractors = addresses;
    options.model.path = "models/graph-toy";
    return options;
  }
  std::map<std::string, at::Tensor> BuildRemote(AttentionSource* source, const std::string& name) {
    DatasetBuildOptions options;
    options.source = source;
    const std::string out = (root_ / name).string();
    const absl::Status status = BuildDatasets({spec_}, {out}, options);
    EXPECT_TRUE(status.ok()) << status;
    auto tensors = ReadTensors(out);
    return tensors.ok() ? *tensors : std::map<std::string, at::Tensor>{};
  }

  fs::path root_;
  DatasetSpec spec_;
};

TEST_F(ExtractorTest, TwoExtractorsBuildTheInProcessDataset) {
  testing::ExtractorProcess a(GP_EXTRACTOR_BINARY, root_.string());
  testing::ExtractorProcess b(GP_EXTRACTOR_BINARY, root_.string());
  ASSERT_FALSE(a.address().empty());
  ASSERT_FALSE(b.address().empty());
  ASSERT_TRUE(WaitForServing(a.address(), 30).ok());
  ASSERT_TRUE(WaitForServing(b.address(), 30).ok());
  const auto local = BuildLocal("local.safetensors");

  auto source = RemoteAttentionSource::Create(Remote({a.address(), b.address()}));
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->shape().layers, ToyLayers());
  const auto remote = BuildRemote(source->get(), "remote.safetensors");
  for (const char* name :
       {"adjacency", "node_mask", "node_name_id", "position_features", "split"}) {
    EXPECT_TRUE(at::equal(remote.at(name), local.at(name))) << name;
  }
  EXPECT_TRUE(testing::FeaturesMatch(remote.at("features"), local.at("features"), spec_.features));
  const std::vector<int64_t> served = (*source)->PromptsServed();
  EXPECT_GT(served[0], 0);  // both extractors did part of the work
  EXPECT_GT(served[1], 0);
  EXPECT_EQ(served[0] + served[1], 40 * 2);

  // A bfloat16 wire: half the bytes, raw features within bfloat16 rounding. (Top-k and argmax
  // can pick another of two keys that rounding made equal, so the bound is on raw features.)
  RemoteSourceOptions bf16 = Remote({a.address(), b.address()});
  bf16.wire_dtype = pb::DTYPE_BF16;
  auto half = RemoteAttentionSource::Create(bf16);
  ASSERT_TRUE(half.ok());
  spec_.features = FeatureOptions{};
  const auto raw = BuildLocal("raw.safetensors");
  const auto rounded = BuildRemote(half->get(), "bf16.safetensors");
  const at::Tensor error = (rounded.at("features") - raw.at("features")).abs();
  EXPECT_GT(error.max().item<double>(), 0);  // really rounded
  // Attention weights rounded to bfloat16 (relative error <= 2^-9), then averaged and summed
  // (all non-negative): every feature within 2^-8 of its own value.
  EXPECT_TRUE((error <= raw.at("features").abs() / 256 + 1e-7).all().item<bool>())
      << error.max().item<double>();
  EXPECT_TRUE(at::equal(rounded.at("adjacency"), local.at("adjacency")));
}

// The embedded cluster's path: the extractor's batcher in this process, rows handed over in
// memory. The same dataset (features up to batch padding's rounding: features_match.h),
// through the service's forward passes.
TEST_F(ExtractorTest, InProcessSourceBuildsTheLocalDatasetThroughTheBatcher) {
  const auto local = BuildLocal("local.safetensors");
  ExtractorOptions options;
  options.model_root = (root_ / "models").string();
  ExtractorService service(options);
  ModelRef model;
  model.path = "graph-toy";
  auto source = InProcessExtractorSource::Create(&service, model);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->shape().layers, ToyLayers());
  const auto built = BuildRemote(source->get(), "in-process.safetensors");
  EXPECT_TRUE(testing::FeaturesMatch(built.at("features"), local.at("features"), spec_.features));
  for (const char* name :
       {"adjacency", "node_mask", "node_name_id", "position_features", "split"}) {
    EXPECT_TRUE(at::equal(built.at(name), local.at(name))) << name;
  }
  // 80 prompts in batches of 16 (the builder's), each one forward pass of the service.
  EXPECT_GE(service.forward_passes(), 5);
  EXPECT_LE(service.forward_passes(), 80);

  // With the passes padded and replayed (cuda_graphs; reruns on a CPU): the same dataset up to
  // summation order, built twice so that every pass's shape repeats.
  ExtractorOptions replaying_options = options;
  replaying_options.cuda_graphs = true;
  ExtractorService replaying(replaying_options);
  auto replaying_source = InProcessExtractorSource::Create(&replaying, model);
  ASSERT_TRUE(replaying_source.ok()) << replaying_source.status();
  for (const char* file : {"replayed-1.safetensors", "replayed-2.safetensors"}) {
    const auto replayed = BuildRemote(replaying_source->get(), file);
    EXPECT_TRUE(at::allclose(replayed.at("features"), local.at("features"), 1e-5, 1e-6)) << file;
    for (const char* name :
         {"adjacency", "node_mask", "node_name_id", "position_features", "split"}) {
      EXPECT_TRUE(at::equal(replayed.at(name), local.at(name))) << file << ": " << name;
    }
  }
  EXPECT_GE(replaying.replayed_passes(), 1);
  EXPECT_LT(replaying.replayed_passes(), replaying.forward_passes());
  replaying.Stop();

  // A model outside the root or missing fails at creation, naming the path.
  model.path = "../graph-toy";
  auto outside = InProcessExtractorSource::Create(&service, model);
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outside.status().message().find("leaves the model root"), std::string::npos);
  model.path = "no-such-model";
  EXPECT_EQ(InProcessExtractorSource::Create(&service, model).status().code(),
            absl::StatusCode::kNotFound);

  // A set cancel stops the capture; a stopped service refuses work as UNAVAILABLE.
  CapturePrompt prompt{"A -> B", {{{0, 1}}, {{5, 6}}}};
  std::atomic<bool> cancel{true};
  EXPECT_EQ((*source)->Capture({prompt}, {}, &cancel).status().code(),
            absl::StatusCode::kCancelled);
  auto captured = (*source)->Capture({prompt}, {}, nullptr);
  ASSERT_TRUE(captured.ok()) << captured.status();
  EXPECT_EQ((*captured)[0].attention.rows.size(0), ToyLayers());
  EXPECT_EQ((*captured)[0].attention.rows.size(2), 2);  // one row per mentioned token
  service.Stop();
  EXPECT_EQ((*source)->Capture({prompt}, {}, nullptr).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ExtractorTest, ASlowerExtractorGetsASmallerShare) {
  testing::ExtractorProcess fast(GP_EXTRACTOR_BINARY, root_.string());
  // Every forward pass of this one waits 1 s for prompts that never come: slower than the
  // other even on a loaded machine.
  testing::ExtractorProcess slow(GP_EXTRACTOR_BINARY, root_.string(), {"--max-wait-ms", "1000"});
  ASSERT_TRUE(WaitForServing(fast.address(), 30).ok() && WaitForServing(slow.address(), 30).ok());
  auto source = RemoteAttentionSource::Create(Remote({fast.address(), slow.address()}));
  ASSERT_TRUE(source.ok()) << source.status();
  const auto remote = BuildRemote(source->get(), "remote.safetensors");
  ASSERT_FALSE(remote.empty());
  const std::vector<int64_t> served = (*source)->PromptsServed();
  EXPECT_EQ(served[0] + served[1], 40 * 2);
  EXPECT_GT(served[1], 0);              // it was asked (an equal share at first)
  EXPECT_GT(served[0], 2 * served[1]);  // then less, as its speed was measured
}

// Kills one extractor after the first batch: the rest of the job finishes on the other.
class KillAfterFirstBatch : public AttentionSource {
 public:
  KillAfterFirstBatch(AttentionSource* inner, testing::ExtractorProcess* victim)
      : inner_(inner), victim_(victim) {}
  SourceShape shape() const override { return inner_->shape(); }
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override {
    auto out = inner_->Capture(prompts, pool, cancel);
    if (++calls_ == 1) victim_->Kill();
    return out;
  }

 private:
  AttentionSource* inner_;
  testing::ExtractorProcess* victim_;
  int calls_ = 0;
};

TEST_F(ExtractorTest, AKilledExtractorsWorkFinishesOnTheOtherWithNothingLostOrDoubled) {
  testing::ExtractorProcess a(GP_EXTRACTOR_BINARY, root_.string());
  testing::ExtractorProcess b(GP_EXTRACTOR_BINARY, root_.string());
  ASSERT_FALSE(a.address().empty() || b.address().empty());
  ASSERT_TRUE(WaitForServing(a.address(), 30).ok() && WaitForServing(b.address(), 30).ok());
  const auto local = BuildLocal("local.safetensors");
  auto source = RemoteAttentionSource::Create(Remote({a.address(), b.address()}));
  ASSERT_TRUE(source.ok()) << source.status();
  KillAfterFirstBatch killing(source->get(), &a);
  const auto remote = BuildRemote(&killing, "remote.safetensors");
  ASSERT_FALSE(remote.empty());
  EXPECT_TRUE(testing::FeaturesMatch(remote.at("features"), local.at("features"), spec_.features));
  EXPECT_TRUE(at::equal(remote.at("adjacency"), local.at("adjacency")));
  const std::vector<int64_t> served = (*source)->PromptsServed();
  EXPECT_EQ(served[0] + served[1], 40 * 2);  // every prompt answered exactly once
  EXPECT_GT(served[1], served[0]);
}

pb::ExtractRequest OnePrompt(const std::string& path, const std::string& text) {
  pb::ExtractRequest request;
  request.mutable_model()->set_path(path);
  auto* prompt = request.add_prompts();
  prompt->set_text(text);
  auto* span = prompt->add_nodes()->add_spans();
  span->set_begin(0);
  span->set_end(1);
  return request;
}

grpc::Status Drain(pb::Extractor::Stub& stub, const pb::ExtractRequest& request, int* messages) {
  grpc::ClientContext context;
  auto reader = stub.Extract(&context, request);
  pb::ExtractResponse response;
  *messages = 0;
  while (reader->Read(&response)) ++*messages;
  return reader->Finish();
}

TEST_F(ExtractorTest, BadRequestsGetTheirStatusAndTheServerKeepsServing) {
  fs::create_directories(root_ / "outside");
  fs::copy(GP_TOY_MODEL_DIR, root_ / "outside" / "toy", fs::copy_options::recursive);
  fs::create_directory_symlink(root_ / "outside" / "toy", root_ / "models" / "link");
  testing::ExtractorProcess server(GP_EXTRACTOR_BINARY, (root_ / "models").string());
  ASSERT_FALSE(server.address().empty());
  ASSERT_TRUE(WaitForServing(server.address(), 30).ok());
  auto stub = Stub(server.address());
  int messages = 0;
  const auto expect = [&](const pb::ExtractRequest& request, grpc::StatusCode code,
                          const std::string& message) {
    const grpc::Status status = Drain(*stub, request, &messages);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_NE(status.error_message().find(message), std::string::npos) << status.error_message();
  };
  expect(OnePrompt("nowhere", "A -> B"), grpc::StatusCode::NOT_FOUND, "'nowhere': no such model");
  expect(OnePrompt("../outside/toy", "A -> B"), grpc::StatusCode::INVALID_ARGUMENT,
         "leaves the model root");
  expect(OnePrompt("link", "A -> B"), grpc::StatusCode::INVALID_ARGUMENT, "leaves the model root");
  expect(OnePrompt((root_ / "models" / "graph-toy").string(), "A"),
         grpc::StatusCode::INVALID_ARGUMENT, "must be relative to the model root");
  expect(OnePrompt("graph-toy", std::string(20000, 'A')), grpc::StatusCode::RESOURCE_EXHAUSTED,
         "over the limit of 8192");
  pb::ExtractRequest many = OnePrompt("graph-toy", "A -> B");
  for (int i = 0; i < 1024; ++i) *many.add_prompts() = many.prompts(0);
  expect(many, grpc::StatusCode::RESOURCE_EXHAUSTED, "prompts: 1025, over the limit of 1024");
  pb::ExtractRequest outside = OnePrompt("graph-toy", "A");
  outside.mutable_prompts(0)->mutable_nodes(0)->mutable_spans(0)->set_end(5);
  expect(outside, grpc::StatusCode::INVALID_ARGUMENT, "prompts[0]: nodes: span [0, 5) outside");
  pb::ExtractRequest both = OnePrompt("graph-toy", "A");
  both.mutable_prompts(0)->add_ids(1);
  expect(both, grpc::StatusCode::INVALID_ARGUMENT, "prompts[0]: text/nodes and ids");
  pb::ExtractRequest vocab;
  vocab.mutable_model()->set_path("graph-toy");
  vocab.add_prompts()->add_ids(1 << 30);
  expect(vocab, grpc::StatusCode::INVALID_ARGUMENT, "prompts[0]: ids[0] = 1073741824: outside");
  pb::ExtractRequest order;
  order.mutable_model()->set_path("graph-toy");
  auto* three = order.add_prompts();
  for (int id : {1, 2, 3}) three->add_ids(id);
  order.mutable_prompts(0)->add_capture_positions(2);
  order.mutable_prompts(0)->add_capture_positions(1);
  expect(order, grpc::StatusCode::INVALID_ARGUMENT, "capture_positions[1] = 1: must ascend");
  pb::ExtractRequest half = OnePrompt("graph-toy", "A -> B");
  half.set_wire_dtype(pb::DTYPE_F16);
  expect(half, grpc::StatusCode::INVALID_ARGUMENT, "wire_dtype");
  pb::ExtractRequest dtype = OnePrompt("graph-toy", "A -> B");
  dtype.mutable_model()->set_dtype("float16");
  expect(dtype, grpc::StatusCode::INVALID_ARGUMENT, "model.dtype 'float16'");
  pb::ExtractRequest mode = OnePrompt("graph-toy", "A -> B");
  mode.add_pool("raw");
  mode.add_pool("topk:0");
  expect(mode, grpc::StatusCode::INVALID_ARGUMENT, "pool[1] 'topk:0'");
  pb::ExtractRequest modes = OnePrompt("graph-toy", "A -> B");
  for (int i = 0; i < 17; ++i) modes.add_pool("raw");
  expect(modes, grpc::StatusCode::RESOURCE_EXHAUSTED, "pool: 17 feature modes, over the limit");
  pb::ExtractRequest pooled_ids;
  pooled_ids.mutable_model()->set_path("graph-toy");
  pooled_ids.add_prompts()->add_ids(1);
  pooled_ids.add_pool("raw");
  expect(pooled_ids, grpc::StatusCode::INVALID_ARGUMENT, "prompts[0]: pooling needs the text form");

  // A client that goes away mid-stream.
  {
    pb::ExtractRequest big = OnePrompt("graph-toy", "A -> B, B -> C");
    for (int i = 0; i < 200; ++i) *big.add_prompts() = big.prompts(0);
    grpc::ClientContext context;
    auto reader = stub->Extract(&context, big);
    pb::ExtractResponse response;
    ASSERT_TRUE(reader->Read(&response));
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // Still serving: a good request streams one header and the rows of its one prompt.
  const grpc::Status ok = Drain(*stub, OnePrompt("graph-toy", "A -> B"), &messages);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(messages, 2);
  grpc::ClientContext context;
  pb::ListModelsResponse models;
  ASSERT_TRUE(stub->ListModels(&context, pb::ListModelsRequest(), &models).ok());
  ASSERT_GE(models.models_size(), 1);
  EXPECT_EQ(models.models(0).path(), "graph-toy");  // the symlink's target is outside: not listed
  EXPECT_EQ(models.models_size(), 1);
  EXPECT_EQ(models.models(0).layers(), ToyLayers());
  EXPECT_TRUE(CheckHealth(server.address(), 10).ok());
  EXPECT_EQ(server.Terminate(), 0);  // SIGTERM drains and exits cleanly
}

// A request that ends early (its client cancels, or its deadline passes) takes its pieces still
// waiting for a forward pass out of the queue: they cost no pass, and the next request does not
// wait behind them.
TEST_F(ExtractorTest, AnEndedRequestsWaitingPiecesAreWithdrawnNotRun) {
  ExtractorOptions options;
  options.model_root = (root_ / "models").string();
  options.max_batch = 1;  // a piece, and a forward pass, per prompt
  ExtractorService service(options);
  auto server = StartServer("127.0.0.1:0", {&service}, 64 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  SetServing(server->server.get(), true);
  auto stub = Stub(server->address);
  pb::ExtractRequest many = OnePrompt("graph-toy", "A -> B, B -> C");
  constexpr int kPrompts = 1000;  // their passes take far longer than either request lasts
  for (int i = 1; i < kPrompts; ++i) *many.add_prompts() = many.prompts(0);
  int messages = 0;
  // Every piece runs or is withdrawn, once: after a later request is answered (queued behind
  // whatever was left), passes and withdrawn prompts account for all of them. The prompts
  // accounted for since the last call, that later one's included.
  int64_t accounted = 0;
  const auto newly_accounted = [&] {
    EXPECT_TRUE(Drain(*stub, OnePrompt("graph-toy", "A -> B"), &messages).ok());
    const int64_t before = accounted;
    accounted = service.forward_passes() + service.withdrawn_prompts();
    return accounted - before;
  };
  {
    grpc::ClientContext context;
    auto reader = stub->Extract(&context, many);
    pb::ExtractResponse response;
    ASSERT_TRUE(reader->Read(&response));  // the first prompt's pass has run
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(newly_accounted(), kPrompts + 1);
  const int64_t withdrawn_on_cancel = service.withdrawn_prompts();
  EXPECT_GT(withdrawn_on_cancel, kPrompts / 2) << service.forward_passes() << " passes ran";
  // A deadline that passes mid-request. On a loaded machine it may pass before the call even
  // reaches the service (nothing of it queued, only the later request accounted): then it is
  // tried again with a longer one.
  for (int deadline_ms = 100;; deadline_ms *= 2) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    pb::ExtractResponse response;
    auto reader = stub->Extract(&context, many);
    while (reader->Read(&response)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    const int64_t newly = newly_accounted();
    if (newly == 1 && deadline_ms < 1600) continue;
    EXPECT_EQ(newly, kPrompts + 1) << "with a deadline of " << deadline_ms << " ms";
    break;
  }
  // How many passes ran before the deadline depends on the machine (about 0.5 ms each here).
  EXPECT_GT(service.withdrawn_prompts(), withdrawn_on_cancel)
      << service.forward_passes() << " passes ran";
  service.Stop();
  server->server->Shutdown();
}

// A cancelled Capture ends its Extract call at once, not when its next message arrives: behind
// another client's long request nothing would arrive until that one is done, and the call's end
// is what lets the extractor withdraw its prompts.
TEST_F(ExtractorTest, ACancelledCaptureEndsItsCallWhileItsPromptsStillWait) {
  ExtractorOptions options;
  options.model_root = root_.string();  // as the extractor processes have it (Remote())
  options.max_batch = 1;
  ExtractorService service(options);
  auto server = StartServer("127.0.0.1:0", {&service}, 64 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  SetServing(server->server.get(), true);
  auto source = RemoteAttentionSource::Create(Remote({server->address}));
  ASSERT_TRUE(source.ok()) << source.status();  // before any thread is started

  // The long request ahead: 1000 one-prompt passes (about half a second here).
  pb::ExtractRequest ahead = OnePrompt("models/graph-toy", "A -> B, B -> C");
  for (int i = 1; i < 1000; ++i) *ahead.add_prompts() = ahead.prompts(0);
  std::atomic<bool> ahead_done{false};
  std::promise<void> ahead_started;
  std::thread first([&] {
    auto stub = Stub(server->address);
    grpc::ClientContext context;
    auto reader = stub->Extract(&context, ahead);
    pb::ExtractResponse response;
    bool started = false;
    while (reader->Read(&response)) {
      if (!started) ahead_started.set_value(), started = true;
    }
    EXPECT_TRUE(reader->Finish().ok());
    ahead_done = true;
    if (!started) ahead_started.set_value();
  });
  ahead_started.get_future().wait();  // every one of its pieces is queued by now

  const std::vector<CapturePrompt> prompts(
      50, CapturePrompt{"A -> B, B -> C", {{{0, 1}}, {{5, 6}, {8, 9}}, {{13, 14}}}});
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    cancel = true;
  });
  const auto captured = (*source)->Capture(prompts, {}, &cancel);
  const bool ahead_done_when_cancelled = ahead_done;
  canceller.join();
  first.join();
  EXPECT_EQ(captured.status().code(), absl::StatusCode::kCancelled) << captured.status();
  EXPECT_FALSE(ahead_done_when_cancelled) << "the cancelled call waited for the request ahead";
  // Every piece ran or was withdrawn once, when a later request (queued behind) is answered.
  int messages = 0;
  ASSERT_TRUE(
      Drain(*Stub(server->address), OnePrompt("models/graph-toy", "A -> B"), &messages).ok());
  EXPECT_GT(service.withdrawn_prompts(), 0);
  EXPECT_EQ(service.forward_passes() + service.withdrawn_prompts(), 1000 + 50 + 1);
  service.Stop();
  server->server->Shutdown();
}

// Pooling on the extractor: each mode's features come back instead of the rows, equal to the
// rows pooled here, in a fraction of the bytes.
TEST_F(ExtractorTest, PooledFeaturesCrossTheWireInsteadOfRows) {
  testing::ExtractorProcess server(GP_EXTRACTOR_BINARY, root_.string());
  ASSERT_TRUE(WaitForServing(server.address(), 30).ok());
  DatasetSpec spec = spec_;
  spec.model = (root_ / "models" / "graph-toy").string();
  std::vector<CapturePrompt> prompts;
  for (int g = 0; g < 8; ++g) {
    auto graph = DatasetGraphOf(spec, g);
    ASSERT_TRUE(graph.ok()) << graph.status();
    prompts.push_back({graph->prompts[0].text, graph->prompts[0].mentions});
  }
  prompts.push_back({"no node here", std::vector<std::vector<MentionSpan>>(6)});
  const std::vector<FeatureOptions> pool = {FeatureOptions{},
                                            *ParseFeatureMode("topk:3+drop-sink+both", {})};
  auto rows_source = RemoteAttentionSource::Create(Remote({server.address()}));
  auto pooled_source = RemoteAttentionSource::Create(Remote({server.address()}));
  ASSERT_TRUE(rows_source.ok() && pooled_source.ok());
  auto rows = (*rows_source)->Capture(prompts, {}, nullptr);
  auto pooled = (*pooled_source)->Capture(prompts, pool, nullptr);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_TRUE(pooled.ok()) << pooled.status();
  ASSERT_EQ(pooled->size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    const PreparedPrompt& p = (*rows)[i].prompt;
    const CapturedAttention& got = (*pooled)[i].attention;
    EXPECT_EQ((*pooled)[i].prompt.ids, p.ids) << i;
    EXPECT_FALSE(got.rows.defined()) << i;
    if (p.positions.empty()) {  // mentions nothing: nothing pooled
      EXPECT_TRUE(got.features.empty()) << i;
      continue;
    }
    std::vector<int64_t> mentioned;
    std::vector<std::vector<std::vector<int>>> mentions;
    for (size_t node = 0; node < p.mentions.size(); ++node) {
      if (p.mentions[node].empty()) continue;
      mentioned.push_back(static_cast<int64_t>(node));
      mentions.push_back(p.mentions[node]);
    }
    const at::Tensor index = at::tensor(mentioned, at::kLong);
    ASSERT_EQ(got.features.size(), pool.size()) << i;
    for (size_t k = 0; k < pool.size(); ++k) {
      auto here = PairFeatures((*rows)[i].attention.rows, RowOfToken(p.positions, p.ids.size()),
                               mentions, pool[k]);
      ASSERT_TRUE(here.ok()) << here.status();
      const at::Tensor& f = got.features[k];
      ASSERT_EQ(f.sizes(), at::IntArrayRef({6, 6, here->size(2)})) << i;
      const at::Tensor block = f.index_select(0, index).index_select(1, index);
      EXPECT_TRUE(at::allclose(block, *here, 1e-5, 1e-7)) << i << " " << k;
      // Pairs with an unmentioned node are zero.
      EXPECT_NEAR(f.abs().sum().item<double>(), block.abs().sum().item<double>(), 1e-4) << i;
    }
  }
  // Rows [layers, heads, K, T] per prompt against [6, 6, F] per mode.
  EXPECT_LT((*pooled_source)->BytesReceived(), (*rows_source)->BytesReceived() / 2);
}

// With each pass's results held until the next pass is queued (as on a GPU; forced here on
// the CPU), concurrent requests still get their own results, pooled as this process pools;
// also with the passes padded and replayed (cuda_graphs: reruns on a CPU), each client asking
// twice so that every pass's shape repeats.
TEST_F(ExtractorTest, PassesQueuedAheadStillAnswerEveryRequestWithItsOwnResults) {
  for (const bool cuda_graphs : {false, true}) {
    SCOPED_TRACE(cuda_graphs ? "replayed passes" : "direct passes");
    ExtractorOptions options;
    options.model_root = root_.string();  // as the extractor processes have it (Remote())
    options.queue_ahead = true;
    options.cuda_graphs = cuda_graphs;
    options.max_batch = 8;  // two 6-prompt requests never share a pass
    ExtractorService service(options);
    auto server = StartServer("127.0.0.1:0", {&service}, 64 << 20);
    ASSERT_TRUE(server.ok()) << server.status();
    SetServing(server->server.get(), true);

    DatasetSpec spec = spec_;
    spec.model = (root_ / "models" / "graph-toy").string();
    constexpr int kClients = 4, kPerClient = 6;
    const int rounds = cuda_graphs ? 2 : 1;
    std::vector<std::vector<CapturePrompt>> prompts(kClients);
    for (int g = 0; g < kClients * kPerClient; ++g) {
      auto graph = DatasetGraphOf(spec, g);
      ASSERT_TRUE(graph.ok()) << graph.status();
      prompts[g % kClients].push_back({graph->prompts[0].text, graph->prompts[0].mentions});
    }
    const std::vector<FeatureOptions> pool = {*ParseFeatureMode("topk:3+drop-sink", {})};
    ModelCache cache(1);
    ModelRef local_model;
    local_model.path = spec.model;
    auto local = LocalAttentionSource::Create(local_model, &cache, kPerClient);
    ASSERT_TRUE(local.ok()) << local.status();

    std::vector<std::vector<absl::StatusOr<std::vector<CapturedPrompt>>>> remote(
        kClients, std::vector<absl::StatusOr<std::vector<CapturedPrompt>>>(
                      rounds, absl::UnknownError("unset")));
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        auto source = RemoteAttentionSource::Create(Remote({server->address}));
        for (int r = 0; r < rounds; ++r) {
          remote[c][r] =
              source.ok() ? (*source)->Capture(prompts[c], pool, nullptr) : source.status();
        }
      });
    }
    for (std::thread& t : clients) t.join();
    for (int c = 0; c < kClients; ++c) {
      auto expected = (*local)->Capture(prompts[c], pool, nullptr);
      ASSERT_TRUE(expected.ok()) << expected.status();
      for (int r = 0; r < rounds; ++r) {
        ASSERT_TRUE(remote[c][r].ok()) << remote[c][r].status();
        ASSERT_EQ(remote[c][r]->size(), expected->size());
        for (size_t i = 0; i < expected->size(); ++i) {
          EXPECT_EQ((*remote[c][r])[i].prompt.ids, (*expected)[i].prompt.ids);
          ASSERT_EQ((*remote[c][r])[i].attention.features.size(), 1u);
          EXPECT_TRUE(at::allclose((*remote[c][r])[i].attention.features[0],
                                   (*expected)[i].attention.features[0], 1e-5, 1e-6))
              << "client " << c << ", round " << r << ", prompt " << i;
        }
      }
    }
    EXPECT_GE(service.forward_passes(), kClients * rounds);  // one request a pass at most
    if (cuda_graphs) {
      // Each request's pass shape is seen again in the second round at the latest (recorded
      // then); the first pass of a shape runs directly.
      EXPECT_GE(service.replayed_passes(), 1);
      EXPECT_LT(service.replayed_passes(), service.forward_passes());
    } else {
      EXPECT_EQ(service.replayed_passes(), 0);
    }
    service.Stop();
    server->server->Shutdown();
  }
}

TEST_F(ExtractorTest, IdsAndPositionsCaptureWhatTheTextFormCaptures) {
  testing::ExtractorProcess server(GP_EXTRACTOR_BINARY, (root_ / "models").string());
  ASSERT_TRUE(WaitForServing(server.address(), 30).ok());
  auto stub = Stub(server.address());
  // The text form first: its tokens and rows.
  const auto rows_of = [&](const pb::ExtractRequest& request, pb::PromptTokens* tokens) {
    grpc::ClientContext context;
    auto reader = stub->Extract(&context, request);
    pb::ExtractResponse response;
    TensorAssembler assembler;
    while (reader->Read(&response)) {
      if (response.has_tokens()) *tokens = response.tokens();
      if (response.has_rows()) EXPECT_TRUE(assembler.Add(response.rows()).ok());
    }
    EXPECT_TRUE(reader->Finish().ok());
    return *assembler.Take();
  };
  pb::PromptTokens from_text, from_ids;
  const at::Tensor text_rows = rows_of(OnePrompt("graph-toy", "A -> B, B -> C"), &from_text);
  ASSERT_EQ(from_text.positions_size(), 1);  // the one mention: "A"
  pb::ExtractRequest ids;
  ids.mutable_model()->set_path("graph-toy");
  auto* prompt = ids.add_prompts();
  *prompt->mutable_ids() = from_text.ids();
  *prompt->mutable_capture_positions() = from_text.positions();
  const at::Tensor id_rows = rows_of(ids, &from_ids);
  EXPECT_TRUE(at::equal(id_rows, text_rows));
  EXPECT_EQ(from_ids.nodes_size(), 0);
  EXPECT_EQ(text_rows.sizes(), (std::vector<int64_t>{ToyLayers(), 4, 1, from_text.ids_size()}));
}

TEST(ResolveExtractorAddressesTest, AddressesAndNamesBecomeEveryAddressTheyStandFor) {
  auto literal = ResolveExtractorAddresses(
      {"127.0.0.1:5002", "dns:///127.0.0.1:5002", "[::1]:5003", "127.0.0.1:5004"});
  ASSERT_TRUE(literal.ok()) << literal.status();
  EXPECT_EQ(*literal, (std::vector<std::string>{"127.0.0.1:5002", "[::1]:5003", "127.0.0.1:5004"}));
  auto no_port = ResolveExtractorAddresses({"localhost"});
  EXPECT_EQ(no_port.status().code(), absl::StatusCode::kInvalidArgument);
  auto unknown = ResolveExtractorAddresses({"no-such-host.invalid:1"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  // A name: every address it resolves to (where this machine resolves "localhost" at all; a
  // bare build root may have no /etc/hosts).
  addrinfo* found = nullptr;
  if (getaddrinfo("localhost", "1", nullptr, &found) != 0) {
    GTEST_SKIP() << "this machine does not resolve localhost";
  }
  freeaddrinfo(found);
  auto named = ResolveExtractorAddresses({"localhost:5001", "dns:///localhost:5001"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_NE(std::find(named->begin(), named->end(), "127.0.0.1:5001"), named->end());
  EXPECT_EQ(std::count(named->begin(), named->end(), "127.0.0.1:5001"), 1);
}

TEST_F(ExtractorTest, HealthCheckFlagExitsZeroOnlyForAServingServer) {
  testing::ExtractorProcess server(GP_EXTRACTOR_BINARY, root_.string());
  ASSERT_FALSE(server.address().empty());
  ASSERT_TRUE(WaitForServing(server.address(), 30).ok());
  const std::string check = std::string(GP_EXTRACTOR_BINARY) + " --health-check " +
                            server.address() + " > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(check.c_str())), 0);
  server.Kill();
  EXPECT_NE(WEXITSTATUS(std::system(check.c_str())), 0);
}

}  // namespace
}  // namespace gp

namespace gp {
namespace {

// A field of /proc/PID/status in megabytes (VmRSS now, VmHWM the peak so far).
double ResidentMegabytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return -1;
}

// `count` prompts of a 6-node graph in arrow notation, every node's mentions as spans.
pb::ExtractRequest GraphPrompts(int count, int variant) {
  static const char* kTexts[] = {"A -> B, C -> D, E -> F, A -> F", "B -> A, D -> C, F -> E, C -> A",
                                 "A -> C, B -> D, C -> E, D -> F"};
  const std::string text = kTexts[variant % 3];
  pb::ExtractRequest request;
  request.mutable_model()->set_path("models/graph-toy");
  for (int i = 0; i < count; ++i) {
    auto* prompt = request.add_prompts();
    prompt->set_text(text);
    for (char node = 'A'; node <= 'F'; ++node) {
      auto* mentions = prompt->add_nodes();
      for (size_t at = text.find(node); at != std::string::npos; at = text.find(node, at + 1)) {
        auto* span = mentions->add_spans();
        span->set_begin(static_cast<uint32_t>(at));
        span->set_end(static_cast<uint32_t>(at + 1));
      }
    }
  }
  return request;
}

// Load (docs/RELIABILITY.md): 16 clients send requests of 8..48 prompts for a bounded time
// against an extractor whose queue holds 256 prompts, while a slow consumer holds a 512-prompt
// stream open and reads one message per 50 ms. Every answer is whole or RESOURCE_EXHAUSTED
// (the queue's backpressure), the others keep being served, and memory stays bounded.
TEST_F(ExtractorTest, LoadGetsAnswersOrBackpressureWithBoundedMemory) {
  testing::ExtractorProcess extractor(
      GP_EXTRACTOR_BINARY, root_.string(),
      {"--max-queued-prompts", "256", "--max-batch", "32", "--preload", "models/graph-toy"});
  ASSERT_FALSE(extractor.address().empty());
  ASSERT_TRUE(WaitForServing(extractor.address(), 60).ok());
  int ignored = 0;
  auto warm = Stub(extractor.address());
  ASSERT_TRUE(Drain(*warm, GraphPrompts(8, 0), &ignored).ok());
  const double baseline = ResidentMegabytes(extractor.pid(), "VmRSS");

  constexpr int kClients = 16;
  constexpr auto kDuration = std::chrono::seconds(6);
  std::mutex mutex;
  std::vector<double> latencies_ms;
  int answered = 0, exhausted = 0, other = 0;
  int64_t prompts_answered = 0;
  std::string other_message;
  const auto stop_at = std::chrono::steady_clock::now() + kDuration;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = Stub(extractor.address());
      for (int i = 0; std::chrono::steady_clock::now() < stop_at; ++i) {  // ends by itself
        const int count = 8 + 8 * ((c + i) % 6);
        const auto start = std::chrono::steady_clock::now();
        int messages = 0;
        const grpc::Status status = Drain(*stub, GraphPrompts(count, c + i), &messages);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        std::lock_guard<std::mutex> lock(mutex);
        if (status.ok()) {
          ++answered;
          prompts_answered += count;
          latencies_ms.push_back(ms);
        } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++exhausted;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));  // back off
        } else {
          ++other;
          other_message = status.error_message();
        }
      }
    });
  }
  // The slow consumer.
  std::thread slow([&] {
    auto stub = Stub(extractor.address());
    grpc::ClientContext context;
    auto reader = stub->Extract(&context, GraphPrompts(512, 1));
    pb::ExtractResponse response;
    while (std::chrono::steady_clock::now() < stop_at && reader->Read(&response)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    context.TryCancel();
    while (reader->Read(&response)) {
    }
    reader->Finish();
  });
  for (std::thread& client : clients) client.join();
  slow.join();
  const double peak = ResidentMegabytes(extractor.pid(), "VmHWM");

  std::sort(latencies_ms.begin(), latencies_ms.end());
  ASSERT_FALSE(latencies_ms.empty());
  const auto quantile = [&](double q) {
    return latencies_ms[static_cast<size_t>(q * (latencies_ms.size() - 1))];
  };
  const double seconds = std::chrono::duration<double>(kDuration).count();
  std::printf(
      "load: %d clients for %.0f s: %d answered, %d RESOURCE_EXHAUSTED, %d other; %.0f prompts/s; "
      "latency p50 %.0f ms, p99 %.0f ms; RSS %.0f MB before, peak %.0f MB\n",
      kClients, seconds, answered, exhausted, other, prompts_answered / seconds, quantile(0.5),
      quantile(0.99), baseline, peak);
  EXPECT_EQ(other, 0) << other_message;
  EXPECT_GT(answered, kClients);
  // Bounded: the queue (256 prompts) and one request's rows per stream, not the offered load.
  EXPECT_LT(peak - baseline, 512) << "peak RSS " << peak << " MB, baseline " << baseline << " MB";
  // Still serving afterwards.
  EXPECT_TRUE(Drain(*warm, GraphPrompts(8, 2), &ignored).ok());
}

}  // namespace
}  // namespace gp
