// The feature service as a real process in front of two real extractors: a dataset job's
// files equal the in-process build (features up to batch padding's rounding); the same request is
// the same job; a feature service SIGKILLed mid-job and restarted resumes the job from its
// checkpoint and produces the same dataset; finished jobs beyond the retention budget forgotten
// least recently used first and built again when asked; bad requests and unknown keys get their
// status codes and messages; cancel.
#include <ATen/ATen.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ablation/dataset_builder.h"
#include "common/model/tensor_io.h"
#include "common/rpc/server.h"
#include "graphprobe/v1/features.grpc.pb.h"
#include "tests/integration/features_match.h"
#include "tests/integration/service_process.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;

class FeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gp_features_" + std::to_string(getpid()));
    fs::create_directories(root_ / "models");
    fs::copy(GP_TOY_MODEL_DIR, root_ / "models" / "graph-toy", fs::copy_options::recursive);
    a_ = std::make_unique<testing::ExtractorProcess>(GP_EXTRACTOR_BINARY,
                                                     (root_ / "models").string());
    b_ = std::make_unique<testing::ExtractorProcess>(GP_EXTRACTOR_BINARY,
                                                     (root_ / "models").string());
    ASSERT_FALSE(a_->address().empty() || b_->address().empty());
    ASSERT_TRUE(WaitForServing(a_->address(), 30).ok() && WaitForServing(b_->address(), 30).ok());
  }
  void TearDown() override {
    features_.reset();
    a_.reset();
    b_.reset();
    fs::remove_all(root_);
  }
  void StartFeatures(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--data", (root_ / "data").string(), "--extractors",
                                     a_->address() + "," + b_->address()};
    args.insert(args.end(), extra.begin(), extra.end());
    features_ = std::make_unique<testing::ServiceProcess>(GP_FEATURES_BINARY, args);
    ASSERT_FALSE(features_->address().empty());
    ASSERT_TRUE(WaitForServing(features_->address(), 30).ok());
    stub_ = pb::Features::NewStub(
        grpc::CreateChannel(features_->address(), grpc::InsecureChannelCredentials()));
  }
  pb::BuildDatasetRequest Request(int graphs, int batch) {
    pb::BuildDatasetRequest request;
    request.mutable_model()->set_path("graph-toy");
    request.mutable_graphs()->set_nodes(6);
    request.mutable_graphs()->set_notation("parents");
    request.add_feature_modes("raw");
    request.add_feature_modes("argmax+drop-sink");
    request.set_num_graphs(graphs);
    request.set_permutations(2);
    request.set_seed(5);
    request.set_batch_size(batch);
    return request;
  }
  // The same datasets built in this process.
  std::vector<std::map<std::string, at::Tensor>> BuildLocal(const pb::BuildDatasetRequest& r) {
    std::vector<DatasetSpec> specs;
    std::vector<std::string> paths;
    for (const std::string& mode : r.feature_modes()) {
      DatasetSpec spec;
      spec.model = (root_ / "models" / "graph-toy").string();
      spec.generator.num_nodes = r.graphs().nodes();
      spec.prompt.notation = Notation::kParents;
      spec.features = *ParseFeatureMode(mode, {});
      spec.num_graphs = r.num_graphs();
      spec.permutations = r.permutations();
      spec.seed = r.seed();
      specs.push_back(spec);
      paths.push_back((root_ / ("local-" + std::to_string(paths.size()))).string());
    }
    EXPECT_TRUE(BuildDatasets(specs, paths).ok());
    std::vector<std::map<std::string, at::Tensor>> out;
    for (const std::string& p : paths) out.push_back(*ReadTensors(p));
    return out;
  }
  // Polls the job until `graphs` are done (at most 12 s); the graphs done then.
  int WaitForGraphs(const std::string& id, int graphs) {
    pb::Job now;
    for (int i = 0; i < 600 && now.graphs_done() < graphs; ++i) {
      grpc::ClientContext get;
      pb::JobRequest request;
      request.set_id(id);
      EXPECT_TRUE(stub_->GetJob(&get, request, &now).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return now.graphs_done();
  }
  pb::Job Watch(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(240));
    pb::JobRequest request;
    request.set_id(id);
    auto reader = stub_->WatchJob(&context, request);
    pb::Job job;
    while (reader->Read(&job)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
    return job;
  }
  std::map<std::string, at::Tensor> Fetch(const std::string& key) {
    grpc::ClientContext context;
    pb::GetDatasetRequest request;
    request.set_key(key);
    auto reader = stub_->GetDataset(&context, request);
    std::string bytes, sha256;
    pb::DatasetChunk chunk;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.offset(), bytes.size());
      EXPECT_TRUE(sha256.empty()) << "a chunk after the one with the checksum";
      bytes += chunk.data();
      sha256 = chunk.sha256();
    }
    EXPECT_TRUE(reader->Finish().ok());
    const std::string path = (root_ / ("fetched-" + key)).string();
    std::ofstream(path, std::ios::binary) << bytes;
    // The checksum on the last chunk is the file's, as an independent tool computes it.
    FILE* pipe = popen(("sha256sum " + path).c_str(), "r");
    char digest[65] = {};
    EXPECT_EQ(fread(digest, 1, 64, pipe), 64u);
    pclose(pipe);
    EXPECT_EQ(sha256, std::string(digest));
    auto tensors = ReadTensors(path);
    EXPECT_TRUE(tensors.ok()) << tensors.status();
    return tensors.ok() ? *tensors : std::map<std::string, at::Tensor>{};
  }
  // The datasets of `keys` as GetDataset serves them equal the ones `r` builds in this
  // process: features up to batch padding's rounding (features_match.h), the rest bit for bit.
  void ExpectSame(const std::vector<std::string>& keys, const pb::BuildDatasetRequest& r) {
    const auto local = BuildLocal(r);
    ASSERT_EQ(keys.size(), local.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto fetched = Fetch(keys[i]);
      ASSERT_FALSE(fetched.empty());
      EXPECT_TRUE(testing::FeaturesMatch(fetched.at("features"), local[i].at("features"),
                                         *ParseFeatureMode(r.feature_modes(i), {})))
          << i;
      for (const char* name : {"adjacency", "node_mask", "position_features"}) {
        EXPECT_TRUE(at::equal(fetched.at(name), local[i].at(name))) << name << " " << i;
      }
    }
  }

  // Submits `request` and watches its job to the end.
  pb::Job BuildAndWait(const pb::BuildDatasetRequest& request) {
    grpc::ClientContext context;
    pb::Job job;
    EXPECT_TRUE(stub_->BuildDataset(&context, request, &job).ok());
    return Watch(job.id());
  }
  grpc::StatusCode GetJobCode(const std::string& id) {
    grpc::ClientContext context;
    pb::JobRequest request;
    request.set_id(id);
    pb::Job job;
    return stub_->GetJob(&context, request, &job).error_code();
  }
  bool HasDatasets(const pb::Job& job) {
    for (const std::string& key : job.dataset_keys()) {
      if (!fs::exists(root_ / "data" / "datasets" / (key + ".safetensors"))) return false;
    }
    return job.dataset_keys_size() > 0;
  }

  fs::path root_;
  std::unique_ptr<testing::ExtractorProcess> a_, b_;
  std::unique_ptr<testing::ServiceProcess> features_;
  std::unique_ptr<pb::Features::Stub> stub_;
};

TEST_F(FeaturesTest, AJobBuildsTheInProcessDatasetsAndTheSameRequestIsTheSameJob) {
  StartFeatures();
  const pb::BuildDatasetRequest request = Request(30, 16);
  grpc::ClientContext context;
  pb::Job job;
  ASSERT_TRUE(stub_->BuildDataset(&context, request, &job).ok());
  EXPECT_EQ(job.dataset_keys_size(), 2);
  EXPECT_EQ(job.graphs_total(), 30);
  const pb::Job done = Watch(job.id());
  EXPECT_EQ(done.state(), pb::Job::SUCCEEDED) << done.error();
  EXPECT_EQ(done.graphs_done(), 30);
  ExpectSame({done.dataset_keys().begin(), done.dataset_keys().end()}, request);
  grpc::ClientContext again_context;
  pb::Job again;
  ASSERT_TRUE(stub_->BuildDataset(&again_context, request, &again).ok());
  EXPECT_EQ(again.id(), job.id());
  EXPECT_EQ(again.state(), pb::Job::SUCCEEDED);
}

TEST_F(FeaturesTest, AKilledFeatureServiceResumesItsJobAfterARestart) {
  StartFeatures();
  const pb::BuildDatasetRequest request = Request(400, 4);  // a checkpoint every 32 prompts
  grpc::ClientContext context;
  pb::Job job;
  ASSERT_TRUE(stub_->BuildDataset(&context, request, &job).ok());
  // Wait until it has checkpointed some graphs, then SIGKILL it.
  ASSERT_GE(WaitForGraphs(job.id(), 40), 40);
  features_->Kill();
  StartFeatures();
  const pb::Job done = Watch(job.id());
  EXPECT_EQ(done.state(), pb::Job::SUCCEEDED) << done.error();
  // It went on from its checkpoint, not from the start, and nothing was lost or doubled.
  EXPECT_GT(done.resumed_from(), 0);
  EXPECT_LT(done.resumed_from(), 400);
  EXPECT_EQ(done.graphs_done(), 400);
  ExpectSame({done.dataset_keys().begin(), done.dataset_keys().end()}, request);
}

TEST_F(FeaturesTest, AJobSurvivesAnExtractorKilledMidJob) {
  StartFeatures();
  const pb::BuildDatasetRequest request = Request(300, 4);
  grpc::ClientContext context;
  pb::Job job;
  ASSERT_TRUE(stub_->BuildDataset(&context, request, &job).ok());
  ASSERT_GE(WaitForGraphs(job.id(), 30), 30);
  a_->Kill();
  const pb::Job done = Watch(job.id());
  EXPECT_EQ(done.state(), pb::Job::SUCCEEDED) << done.error();
  EXPECT_EQ(done.graphs_done(), 300);
  ExpectSame({done.dataset_keys().begin(), done.dataset_keys().end()}, request);
}

TEST_F(FeaturesTest, FinishedJobsBeyondTheBudgetAreForgottenLeastRecentlyUsedFirst) {
  const auto request = [&](int seed) {
    pb::BuildDatasetRequest r = Request(20, 16);
    r.set_seed(seed);
    return r;
  };
  // One job's files as built here (same shapes whatever the seed): room for two and a half.
  int64_t job_bytes = 0;
  BuildLocal(request(1));
  for (const char* local : {"local-0", "local-1"}) job_bytes += fs::file_size(root_ / local);
  const double budget_gb = 2.5 * static_cast<double>(job_bytes) / (int64_t{1} << 30);
  // One job at a time: besides the job that just ended, only the one used last is spared.
  StartFeatures({"--max-jobs", "1", "--max-dataset-gb", std::to_string(budget_gb)});
  const pb::Job a = BuildAndWait(request(1));
  const pb::Job b = BuildAndWait(request(2));
  ASSERT_EQ(a.state(), pb::Job::SUCCEEDED) << a.error();
  ASSERT_EQ(b.state(), pb::Job::SUCCEEDED) << b.error();
  EXPECT_TRUE(HasDatasets(a) && HasDatasets(b));
  // Serving a's dataset makes it more recently used than b.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(Fetch(a.dataset_keys(0)).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const pb::Job c = BuildAndWait(request(3));
  ASSERT_EQ(c.state(), pb::Job::SUCCEEDED) << c.error();
  // Three jobs' files over the budget: b, the least recently used (c just ended, a was used
  // last), is forgotten whole.
  EXPECT_EQ(GetJobCode(b.id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(fs::exists(root_ / "data" / "jobs" / (b.id() + ".json")));
  for (const std::string& key : b.dataset_keys()) {
    EXPECT_FALSE(fs::exists(root_ / "data" / "datasets" / (key + ".safetensors"))) << key;
  }
  EXPECT_EQ(GetJobCode(a.id()), grpc::StatusCode::OK);
  EXPECT_TRUE(HasDatasets(a) && HasDatasets(c));

  // Asked for again, b is built again from the start, the same dataset; now a, served before c
  // ended, goes.
  const pb::Job b_again = BuildAndWait(request(2));
  ASSERT_EQ(b_again.state(), pb::Job::SUCCEEDED) << b_again.error();
  EXPECT_EQ(b_again.id(), b.id());
  EXPECT_EQ(b_again.resumed_from(), 0);
  ExpectSame({b_again.dataset_keys().begin(), b_again.dataset_keys().end()}, request(2));
  EXPECT_EQ(GetJobCode(a.id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(HasDatasets(c));

  // A finished job whose datasets were deleted by hand runs again rather than answering
  // SUCCEEDED for files that are not there.
  fs::remove(root_ / "data" / "datasets" / (c.dataset_keys(1) + ".safetensors"));
  {
    grpc::ClientContext context;
    pb::Job queued;
    ASSERT_TRUE(stub_->BuildDataset(&context, request(3), &queued).ok());
    EXPECT_EQ(queued.state(), pb::Job::QUEUED);
  }
  const pb::Job c_again = Watch(c.id());
  EXPECT_EQ(c_again.state(), pb::Job::SUCCEEDED) << c_again.error();
  EXPECT_TRUE(HasDatasets(c_again));

  // Restarted with no room at all, it keeps only the job used last (--max-jobs of them).
  EXPECT_EQ(features_->Terminate(), 0);
  StartFeatures({"--max-jobs", "1", "--max-dataset-gb", "0"});
  EXPECT_EQ(GetJobCode(c.id()), grpc::StatusCode::OK);
  EXPECT_EQ(GetJobCode(b.id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      std::distance(fs::directory_iterator(root_ / "data" / "jobs"), fs::directory_iterator()), 1);
  EXPECT_EQ(
      std::distance(fs::directory_iterator(root_ / "data" / "datasets"), fs::directory_iterator()),
      2);
}

TEST_F(FeaturesTest, BadRequestsUnknownKeysAndCancellation) {
  StartFeatures();
  const auto build = [&](const pb::BuildDatasetRequest& request, pb::Job* job) {
    grpc::ClientContext context;
    return stub_->BuildDataset(&context, request, job);
  };
  pb::Job job;
  pb::BuildDatasetRequest nodes = Request(10, 8);
  nodes.mutable_graphs()->set_nodes(100);
  grpc::Status status = build(nodes, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("graphs.nodes 100"), std::string::npos);
  pb::BuildDatasetRequest modes = Request(10, 8);
  modes.add_feature_modes("softmax");
  status = build(modes, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("feature_modes[2]"), std::string::npos);
  pb::BuildDatasetRequest graphs = Request(0, 8);
  status = build(graphs, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("num_graphs 0"), std::string::npos);

  // An unknown model fails the job with the extractors' answer.
  pb::BuildDatasetRequest unknown = Request(10, 8);
  unknown.mutable_model()->set_path("nowhere");
  ASSERT_TRUE(build(unknown, &job).ok());
  const pb::Job failed = Watch(job.id());
  EXPECT_EQ(failed.state(), pb::Job::FAILED);
  EXPECT_NE(failed.error().find("'nowhere'"), std::string::npos) << failed.error();

  for (const auto& [key, code] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"0123456789abcdef", grpc::StatusCode::NOT_FOUND},
           {"../../etc/passwd", grpc::StatusCode::INVALID_ARGUMENT}}) {
    grpc::ClientContext context;
    pb::GetDatasetRequest request;
    request.set_key(key);
    auto reader = stub_->GetDataset(&context, request);
    pb::DatasetChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), code) << key;
  }
  {
    grpc::ClientContext context;
    pb::JobRequest request;
    request.set_id("nope");
    EXPECT_EQ(stub_->GetJob(&context, request, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // Cancelling a long job stops it.
  ASSERT_TRUE(build(Request(5000, 4), &job).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    grpc::ClientContext context;
    pb::JobRequest request;
    request.set_id(job.id());
    pb::Job cancelled;
    ASSERT_TRUE(stub_->CancelJob(&context, request, &cancelled).ok());
  }
  const pb::Job stopped = Watch(job.id());
  EXPECT_EQ(stopped.state(), pb::Job::CANCELLED);
  EXPECT_LT(stopped.graphs_done(), 5000);
  EXPECT_TRUE(CheckHealth(features_->address(), 10).ok());
  EXPECT_EQ(features_->Terminate(), 0);
}

}  // namespace
}  // namespace gp
