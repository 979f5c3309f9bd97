// The control plane with real processes on loopback: a coordinator, two extractors, a feature
// service and trainers; ablations submitted, watched and fetched with the graphprobe command;
// the cluster's results equal to the one-process `graphprobe run`; the coordinator and a
// trainer killed mid-ablation; retention limits, and datasets forgotten before their cells ran
// built again; idempotent submission; bad specs; cancellation.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/core/hash.h"
#include "common/core/json_file.h"
#include "common/rpc/server.h"
#include "graphprobe/v1/coordinator.grpc.pb.h"
#include "graphprobe/v1/features.grpc.pb.h"
#include "graphprobe/v1/trainer.grpc.pb.h"
#include "tests/integration/service_process.h"
#include "tests/integration/shell_command.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;
using Clock = std::chrono::steady_clock;

using testing::CommandResult;

// `graphprobe ARGS...` with its stdout (stderr goes to the test log).
CommandResult RunCli(const std::vector<std::string>& args) {
  std::string command = GP_GRAPHPROBE_BINARY;
  for (const std::string& arg : args) command += " '" + arg + "'";
  return testing::RunShellCommand(command);
}

std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  return trimmed.substr(trimmed.rfind('\n') + 1);
}

std::string FileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// How many datasets in `served` have a file of the same name (the same spec) in `built`, and
// whether all of those are byte for byte the same.
struct DatasetComparison {
  int matched = 0;
  bool identical = true;
};
DatasetComparison CompareDatasets(const fs::path& served, const fs::path& built) {
  DatasetComparison comparison;
  for (const auto& entry : fs::directory_iterator(served)) {
    if (entry.path().extension() != ".safetensors") continue;
    const fs::path twin = built / entry.path().filename();
    if (!fs::exists(twin)) continue;
    ++comparison.matched;
    comparison.identical = comparison.identical && FileBytes(entry.path()) == FileBytes(twin);
  }
  return comparison;
}

// Two models (the toy and its random twin) x 2 feature modes x 2 seeds: 36 cells, a few
// seconds of work. `model_path` as the spec names it.
nlohmann::json SmallSpec(const std::string& model_path, int epochs = 60) {
  return {{"name", "cluster-test"},
          {"models",
           {{{"name", "graph-toy"}, {"path", model_path}},
            {{"name", "graph-toy-random"}, {"path", model_path}, {"random_init", true}}}},
          {"graph_sizes", {5}},
          {"feature_modes", {"raw", "topk:3+drop-sink"}},
          {"probes", {"pair-mlp", "logreg-head"}},
          {"seeds", {1, 2}},
          {"dataset_sizes", {60}},
          {"probe_training", {{"epochs", epochs}, {"hidden", 32}, {"patience", 0}}}};
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gp-cluster-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "models");
    fs::copy(GP_TOY_MODEL_DIR, root_ / "models" / "graph-toy", fs::copy_options::recursive);
    StartCoordinator("127.0.0.1:0");
    ASSERT_FALSE(coordinator_->address().empty());
    address_ = coordinator_->address();
    for (int i = 0; i < 2; ++i) {
      extractors_.push_back(std::make_unique<testing::ServiceProcess>(
          GP_EXTRACTOR_BINARY, std::vector<std::string>{"--model-root", (root_ / "models").string(),
                                                        "--coordinator", address_}));
    }
    features_ = std::make_unique<testing::ServiceProcess>(
        GP_FEATURES_BINARY, std::vector<std::string>{"--data", (root_ / "features").string(),
                                                     "--coordinator", address_});
    trainers_.push_back(StartTrainer(0));
    stub_ =
        pb::Coordinator::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    WaitForWorkers(4, 1);
  }
  void TearDown() override {
    trainers_.clear();
    features_.reset();
    extractors_.clear();
    coordinator_.reset();
    fs::remove_all(root_);
  }

  void StartCoordinator(const std::string& listen) {
    coordinator_ = std::make_unique<testing::ServiceProcess>(
        GP_COORDINATOR_BINARY,
        std::vector<std::string>{"--state", (root_ / "state").string(), "--lease-seconds", "2"},
        listen);
  }
  std::unique_ptr<testing::ServiceProcess> StartTrainer(int index,
                                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--work",        (root_ / ("trainer-" + std::to_string(index))).string(),
        "--coordinator", address_,
        "--max-jobs",    "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<testing::ServiceProcess>(GP_TRAINER_BINARY, args);
  }

  // Waits until `others` extractors/features and `trainers` trainers hold live leases.
  void WaitForWorkers(int others, int trainers) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      grpc::ClientContext context;
      pb::ListWorkersResponse response;
      if (stub_->ListWorkers(&context, pb::ListWorkersRequest(), &response).ok()) {
        int live_others = 0, live_trainers = 0;
        for (const pb::Worker& w : response.workers()) {
          if (!w.alive()) continue;
          (w.kind() == "trainer" ? live_trainers : live_others)++;
        }
        if (live_others >= others - 1 && live_trainers >= trainers) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "workers did not register";
  }

  std::string WriteSpec(const std::string& name, const nlohmann::json& spec) {
    const std::string path = (root_ / name).string();
    EXPECT_TRUE(WriteJsonFile(path, spec).ok());
    return path;
  }

  grpc::Status Create(const nlohmann::json& spec, const std::string& request_id,
                      pb::Ablation* ablation) {
    grpc::ClientContext context;
    pb::CreateAblationRequest request;
    request.set_spec_json(spec.dump());
    request.set_request_id(request_id);
    return stub_->CreateAblation(&context, request, ablation);
  }

  pb::Ablation Get(const std::string& id) {
    grpc::ClientContext context;
    pb::AblationRequest request;
    request.set_id(id);
    pb::Ablation ablation;
    stub_->GetAblation(&context, request, &ablation);
    return ablation;
  }

  // Waits until `ready` holds for the ablation (or a minute passed).
  pb::Ablation WaitFor(const std::string& id,
                       const std::function<bool(const pb::Ablation&)>& ready) {
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    pb::Ablation ablation;
    while (Clock::now() < deadline) {
      ablation = Get(id);
      if (ready(ablation)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ablation;
  }

  // The cells of OUT/results.json by id; fails on a duplicate.
  std::map<std::string, nlohmann::json> Cells(const fs::path& out) {
    std::map<std::string, nlohmann::json> cells;
    auto json = ReadJsonFile((out / "results.json").string());
    EXPECT_TRUE(json.ok()) << json.status();
    if (!json.ok()) return cells;
    for (const nlohmann::json& cell : (*json)["cells"]) {
      EXPECT_TRUE(cells.emplace(cell["cell_id"].get<std::string>(), cell).second)
          << "duplicated: " << cell["cell_id"];
    }
    return cells;
  }

  fs::path root_;
  std::string address_;
  std::unique_ptr<testing::ServiceProcess> coordinator_, features_;
  std::vector<std::unique_ptr<testing::ServiceProcess>> extractors_, trainers_;
  std::unique_ptr<pb::Coordinator::Stub> stub_;
};

TEST_F(ClusterTest, SubmitWatchResultsEqualTheOneProcessRun) {
  const std::string spec = WriteSpec("spec.json", SmallSpec("graph-toy"));
  const CommandResult submitted = RunCli({"submit", "--coordinator", address_, spec});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  const std::string id = LastLine(submitted.output);
  ASSERT_EQ(id.size(), 16u) << submitted.output;
  const CommandResult watched = RunCli({"watch", "--coordinator", address_, id});
  EXPECT_EQ(watched.exit_code, 0) << watched.output;
  EXPECT_NE(watched.output.find("cells 36/36 (0 running, 0 failed)"), std::string::npos)
      << watched.output;
  const CommandResult fetched =
      RunCli({"results", "--coordinator", address_, id, "--out", (root_ / "cluster-out").string()});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
  for (const char* f : {"results.csv", "summary.csv", "results.json", "heads-graph-toy.csv",
                        "heads-graph-toy-random.csv"}) {
    EXPECT_TRUE(fs::exists(root_ / "cluster-out" / f)) << f;
  }
  const CommandResult listed = RunCli({"list", "--coordinator", address_});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.output.find(id + "  succeeded"), std::string::npos) << listed.output;

  // The same spec in one process (model path relative to the spec file there).
  const std::string local = WriteSpec("local.json", SmallSpec("models/graph-toy"));
  const CommandResult run = RunCli({"run", "--spec", local, "--out", (root_ / "run-out").string()});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto cluster = Cells(root_ / "cluster-out");
  const auto embedded = Cells(root_ / "run-out");
  ASSERT_EQ(cluster.size(), 36u);
  ASSERT_EQ(embedded.size(), 36u);
  // Two extractors batch the prompts otherwise than the embedded run's one. On AVX2 machines the
  // features still come out bit for bit the same, and then so do the probes (metrics within
  // 1e-6: the trainer's threads sum in another order). On AVX-512 machines padding to another
  // shape rounds otherwise (features within 1e-5, features_service_test), training amplifies
  // that over its epochs and early stopping may pick another epoch: only a gross difference
  // (another dataset, another cell's result) is an error then.
  const DatasetComparison datasets = CompareDatasets(
      root_ / "features" / "datasets", root_ / "run-out" / "cluster" / "features" / "datasets");
  ASSERT_GT(datasets.matched, 0) << "no dataset of the cluster has the embedded run's name";
  const double tolerance = datasets.identical ? 1e-6 : 0.1;
  std::cout << datasets.matched << " datasets "
            << (datasets.identical ? "byte for byte the embedded run's"
                                   : "differ from the embedded run's (rounding)")
            << ": metrics compared within " << tolerance << std::endl;
  for (const auto& [cell_id, cell] : embedded) {
    ASSERT_TRUE(cluster.count(cell_id)) << cell_id;
    for (const char* split : {"val", "test", "test_interval"}) {
      for (const auto& [metric, value] : cell[split].items()) {
        EXPECT_NEAR(cluster.at(cell_id)[split][metric].get<double>(), value.get<double>(),
                    tolerance)
            << cell_id << " " << split << "." << metric;
      }
    }
    // The report's curve and test graphs: the same epochs and graphs either way.
    if (datasets.identical) {
      EXPECT_EQ(cluster.at(cell_id)["history"]["epoch"], cell["history"]["epoch"]) << cell_id;
    }
    ASSERT_EQ(cluster.at(cell_id)["test_samples"].size(), cell["test_samples"].size()) << cell_id;
    for (size_t g = 0; g < cell["test_samples"].size(); ++g) {
      EXPECT_EQ(cluster.at(cell_id)["test_samples"][g]["adjacency"],
                cell["test_samples"][g]["adjacency"])
          << cell_id;
    }
  }
}

TEST_F(ClusterTest, CoordinatorKilledAndRestartedLosesAndDuplicatesNoCell) {
  trainers_.push_back(StartTrainer(1));
  WaitForWorkers(4, 2);
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 150), "restart-test", &ablation).ok());
  WaitFor(ablation.id(), [](const pb::Ablation& a) { return a.cells_done() >= 5; });
  // `graphprobe watch`, following the ablation across the restart: it says it lost the
  // coordinator, waits for it and ends with the ablation's outcome.
  const fs::path watch_log = root_ / "watch.log";
  std::future<testing::CommandResult> watch = std::async(std::launch::async, [&] {
    return testing::RunShellCommand(absl::StrFormat("%s watch --coordinator %s %s >%s 2>&1",
                                                    GP_GRAPHPROBE_BINARY, address_, ablation.id(),
                                                    watch_log.string()));
  });
  // Killed once the watch is following (its first progress line), not before it started.
  const auto following_by = Clock::now() + std::chrono::seconds(60);
  while (FileBytes(watch_log).find("cells ") == std::string::npos && Clock::now() < following_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  coordinator_->Kill();
  StartCoordinator(address_);
  ASSERT_EQ(coordinator_->address(), address_);
  stub_ =
      pb::Coordinator::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  EXPECT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  EXPECT_EQ(done.cells_done(), 36);
  const int watch_exit = watch.get().exit_code;
  const std::string watched = FileBytes(watch_log);
  EXPECT_EQ(watch_exit, 0) << watched;
  EXPECT_NE(watched.find("watch: coordinator unavailable ("), std::string::npos) << watched;
  EXPECT_NE(watched.find("retrying for up to a minute"), std::string::npos);
  EXPECT_NE(watched.find("ablation " + ablation.id() + " succeeded"), std::string::npos) << watched;
  // A retried submission names the same ablation.
  pb::Ablation again;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 150), "restart-test", &again).ok());
  EXPECT_EQ(again.id(), ablation.id());
  ASSERT_EQ(RunCli({"results", "--coordinator", address_, ablation.id(), "--out",
                    (root_ / "out").string()})
                .exit_code,
            0);
  EXPECT_EQ(Cells(root_ / "out").size(), 36u);
  grpc::ClientContext context;
  pb::ListAblationsResponse all;
  ASSERT_TRUE(stub_->ListAblations(&context, pb::ListAblationsRequest(), &all).ok());
  EXPECT_EQ(all.ablations_size(), 1);
}

TEST_F(ClusterTest, ATrainerKilledMidJobIsReplacedByAnother) {
  trainers_.push_back(StartTrainer(1));
  WaitForWorkers(4, 2);
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 300), "", &ablation).ok());
  // Kill the first trainer while it trains a cell.
  auto trainer = pb::Trainer::NewStub(
      grpc::CreateChannel(trainers_[0]->address(), grpc::InsecureChannelCredentials()));
  bool killed = false;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!killed && Clock::now() < deadline) {
    grpc::ClientContext context;
    pb::ListTrainingJobsRequest request;
    request.set_state(pb::TrainingJob::RUNNING);
    pb::ListTrainingJobsResponse running;
    if (trainer->ListJobs(&context, request, &running).ok() && running.jobs_size() > 0) {
      trainers_[0]->Kill();
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(killed);
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  EXPECT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  EXPECT_EQ(done.cells_done(), 36);
  EXPECT_EQ(done.cells_failed(), 0);
}

// A trainer that serves ablation after ablation keeps only its last finished jobs, in memory
// and on disk, and its datasets within their budget, and the ablation still gets every cell's
// artifacts (fetched as each job ends).
TEST_F(ClusterTest, ATrainerKeepsOnlyItsLastFinishedJobsAndDatasets) {
  constexpr int kKeep = 16;  // the least the flag takes; the ablation's 36 cells end more
  trainers_[0]->Terminate();
  // No room for datasets: only the one in use (with --max-jobs 1) and the next stay.
  trainers_[0] =
      StartTrainer(1, {"--keep-finished-jobs", std::to_string(kKeep), "--max-dataset-gb", "0"});
  WaitForWorkers(4, 1);
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 20), "", &ablation).ok());
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  ASSERT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  EXPECT_EQ(done.cells_done(), 36);
  ASSERT_EQ(RunCli({"results", "--coordinator", address_, ablation.id(), "--out",
                    (root_ / "out").string()})
                .exit_code,
            0);
  EXPECT_EQ(Cells(root_ / "out").size(), 36u);  // every cell's metrics arrived

  auto trainer = pb::Trainer::NewStub(
      grpc::CreateChannel(trainers_[0]->address(), grpc::InsecureChannelCredentials()));
  pb::ListTrainingJobsResponse jobs;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(trainer->ListJobs(&context, pb::ListTrainingJobsRequest(), &jobs).ok());
  }
  EXPECT_EQ(jobs.jobs_size(), kKeep);
  const fs::path folders = root_ / "trainer-1" / "jobs";
  EXPECT_EQ(std::distance(fs::directory_iterator(folders), fs::directory_iterator()), kKeep);
  for (const pb::TrainingJob& job : jobs.jobs()) {
    EXPECT_TRUE(fs::is_directory(folders / job.id())) << job.id();
  }
  // The forgotten ones: each cell's job id is the hash of its request id (ablation/cell).
  std::set<std::string> kept;
  for (const pb::TrainingJob& job : jobs.jobs()) kept.insert(job.id());
  int forgotten = 0;
  for (const auto& [cell_id, cell] : Cells(root_ / "out")) {
    (void)cell;
    const std::string id = absl::StrFormat("%016x", Fnv1a64(ablation.id() + "/" + cell_id));
    if (kept.count(id) > 0) continue;
    ++forgotten;
    grpc::ClientContext context;
    pb::TrainingJobRequest request;
    request.set_id(id);
    pb::TrainingJob job;
    EXPECT_EQ(trainer->GetJob(&context, request, &job).error_code(), grpc::StatusCode::NOT_FOUND)
        << cell_id;
  }
  EXPECT_EQ(forgotten, 36 - kKeep);
  // The ablation's datasets (one per model, seed and mode: 8) came and went.
  const auto datasets = std::distance(fs::directory_iterator(root_ / "trainer-1" / "datasets"),
                                      fs::directory_iterator());
  EXPECT_GE(datasets, 1);
  EXPECT_LE(datasets, 2);
}

TEST_F(ClusterTest, DatasetsTheFeatureServiceForgotBeforeTheirCellsRanAreBuiltAgain) {
  // No trainer until every family is built, and no room for datasets at the feature service:
  // by the time the first cell runs, only the last two families' datasets are left (the one
  // that just ended, and --max-jobs more).
  trainers_.clear();
  features_.reset();
  features_ = std::make_unique<testing::ServiceProcess>(
      GP_FEATURES_BINARY,
      std::vector<std::string>{"--data", (root_ / "features").string(), "--coordinator", address_,
                               "--max-jobs", "1", "--max-dataset-gb", "0"});
  // Until the coordinator knows no trainer and only this feature service (leases: 2 s).
  bool settled = false;
  for (const auto deadline = Clock::now() + std::chrono::seconds(30);
       !settled && Clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    grpc::ClientContext context;
    pb::ListWorkersResponse response;
    if (!stub_->ListWorkers(&context, pb::ListWorkersRequest(), &response).ok()) continue;
    int trainers = 0, features = 0, this_one = 0;
    for (const pb::Worker& w : response.workers()) {
      if (!w.alive()) continue;
      trainers += w.kind() == "trainer";
      features += w.kind() == "features";
      this_one += w.kind() == "features" && w.address() == features_->address();
    }
    settled = trainers == 0 && features == 1 && this_one == 1;
  }
  ASSERT_TRUE(settled);
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 20), "", &ablation).ok());
  const pb::Ablation built = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.datasets_total() > 0 && a.datasets_done() == a.datasets_total();
  });
  ASSERT_EQ(built.datasets_done(), 4) << built.error();  // one family per model and seed
  EXPECT_EQ(built.cells_done(), 0);
  const auto count = [](const fs::path& dir) {
    return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
  };
  EXPECT_EQ(count(root_ / "features" / "jobs"), 2);
  EXPECT_EQ(count(root_ / "features" / "datasets"), 4);  // two feature modes each

  // Two families' cells find their dataset gone (NotFound from the trainer's fetch): each
  // family is built again, and every cell ends with its result.
  trainers_.push_back(StartTrainer(0));
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  ASSERT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  EXPECT_EQ(done.cells_done(), 36);
  EXPECT_EQ(done.cells_failed(), 0);
  ASSERT_EQ(RunCli({"results", "--coordinator", address_, ablation.id(), "--out",
                    (root_ / "out").string()})
                .exit_code,
            0);
  EXPECT_EQ(Cells(root_ / "out").size(), 36u);
}

TEST_F(ClusterTest, AFrozenTrainerLosesItsLeaseAndItsCellRunsElsewhereOnce) {
  trainers_.push_back(StartTrainer(1));
  WaitForWorkers(4, 2);
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 400), "", &ablation).ok());
  auto trainer = pb::Trainer::NewStub(
      grpc::CreateChannel(trainers_[0]->address(), grpc::InsecureChannelCredentials()));
  bool frozen = false;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!frozen && Clock::now() < deadline) {
    grpc::ClientContext context;
    pb::ListTrainingJobsRequest request;
    request.set_state(pb::TrainingJob::RUNNING);
    pb::ListTrainingJobsResponse running;
    if (trainer->ListJobs(&context, request, &running).ok() && running.jobs_size() > 0) {
      trainers_[0]->Freeze();
      frozen = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(frozen);
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  trainers_[0]->Thaw();
  EXPECT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  EXPECT_EQ(done.cells_done(), 36);
  ASSERT_EQ(RunCli({"results", "--coordinator", address_, ablation.id(), "--out",
                    (root_ / "out").string()})
                .exit_code,
            0);
  EXPECT_EQ(Cells(root_ / "out").size(), 36u);
}

TEST_F(ClusterTest, TrainerJobsKeepTheirArtifactsAndCheckTheirRequests) {
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 20), "", &ablation).ok());
  const pb::Ablation done = WaitFor(ablation.id(), [](const pb::Ablation& a) {
    return a.state() == pb::Ablation::SUCCEEDED || a.state() == pb::Ablation::FAILED;
  });
  ASSERT_EQ(done.state(), pb::Ablation::SUCCEEDED) << done.error();
  auto trainer = pb::Trainer::NewStub(
      grpc::CreateChannel(trainers_[0]->address(), grpc::InsecureChannelCredentials()));
  pb::ListTrainingJobsResponse jobs;
  {
    grpc::ClientContext context;
    pb::ListTrainingJobsRequest request;
    request.set_ablation_id(ablation.id());
    request.set_state(pb::TrainingJob::SUCCEEDED);
    ASSERT_TRUE(trainer->ListJobs(&context, request, &jobs).ok());
  }
  EXPECT_EQ(jobs.jobs_size(), 36);
  const pb::TrainingJob* mlp = nullptr;
  for (const pb::TrainingJob& job : jobs.jobs()) {
    if (job.cell_id().find("/pair-mlp") != std::string::npos && mlp == nullptr) mlp = &job;
  }
  ASSERT_NE(mlp, nullptr);
  pb::TrainingJobRequest request;
  request.set_id(mlp->id());
  pb::ArtifactsRequest wanted;
  wanted.set_id(mlp->id());
  pb::TrainingArtifacts artifacts;
  {
    grpc::ClientContext context;
    wanted.set_metrics_only(true);
    ASSERT_TRUE(trainer->GetArtifacts(&context, wanted, &artifacts).ok());
    EXPECT_FALSE(artifacts.metrics_json().empty());
    EXPECT_TRUE(artifacts.model_safetensors().empty());
  }
  {
    grpc::ClientContext context;
    wanted.set_metrics_only(false);
    ASSERT_TRUE(trainer->GetArtifacts(&context, wanted, &artifacts).ok());
  }
  const nlohmann::json metrics = nlohmann::json::parse(artifacts.metrics_json());
  EXPECT_TRUE(metrics.contains("test") && metrics.contains("test_interval"));
  EXPECT_EQ(metrics["probe"], "pair-mlp");
  // A header line and one row per epoch (no early stopping in this spec).
  EXPECT_EQ(std::count(artifacts.history_csv().begin(), artifacts.history_csv().end(), '\n'), 21);
  EXPECT_GT(artifacts.model_safetensors().size(), 8u);
  EXPECT_GT(artifacts.predictions_safetensors().size(), 8u);
  // What the report draws, sent with the metrics: the curve of every epoch, two test graphs.
  ASSERT_TRUE(metrics.contains("history") && metrics.contains("test_samples"));
  EXPECT_EQ(metrics["history"]["epoch"].size(), 20u);
  EXPECT_EQ(metrics["history"]["val_f1"].size(), 20u);
  ASSERT_EQ(metrics["test_samples"].size(), 2u);
  const size_t nodes = metrics["test_samples"][0]["nodes"].size();
  EXPECT_GE(nodes, 2u);
  EXPECT_EQ(metrics["test_samples"][0]["probability"].size(), nodes);
  // The same curve as TensorBoard scalars in the job's folder.
  const fs::path events = root_ / "trainer-0" / "jobs" / mlp->id() / "tensorboard";
  ASSERT_TRUE(fs::is_directory(events));
  ASSERT_FALSE(fs::is_empty(events));
  EXPECT_GT(fs::file_size(fs::directory_iterator(events)->path()), 20u * 3 * 40);
  // The coordinator's results carry them too, for the report.
  ASSERT_EQ(RunCli({"results", "--coordinator", address_, ablation.id(), "--out",
                    (root_ / "out").string()})
                .exit_code,
            0);
  for (const auto& [id, cell] : Cells(root_ / "out")) {
    EXPECT_TRUE(cell.contains("history") && cell.contains("test_samples")) << id;
  }
  {
    // A finished job watched: its whole history in one message, then the end.
    grpc::ClientContext context;
    auto reader = trainer->WatchJob(&context, request);
    pb::TrainingJob watched;
    ASSERT_TRUE(reader->Read(&watched));
    EXPECT_EQ(watched.state(), pb::TrainingJob::SUCCEEDED);
    EXPECT_EQ(watched.epochs_size(), 20);
    EXPECT_TRUE(reader->Finish().ok());
  }
  {
    grpc::ClientContext context;
    wanted.set_id("0000000000000000");
    EXPECT_EQ(trainer->GetArtifacts(&context, wanted, &artifacts).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  pb::CreateTrainingJobRequest bad;
  bad.set_dataset_key(mlp->dataset_key());
  bad.set_features_address(features_->address());
  bad.mutable_options()->set_probe("transformer");
  pb::TrainingJob job;
  {
    grpc::ClientContext context;
    const grpc::Status status = trainer->CreateJob(&context, bad, &job);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("options.probe"), std::string::npos)
        << status.error_message();
  }
  bad.mutable_options()->set_probe("gcn");
  bad.set_dataset_key("../../etc/passwd");
  {
    grpc::ClientContext context;
    const grpc::Status status = trainer->CreateJob(&context, bad, &job);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find("dataset_key"), std::string::npos);
  }
  // A dataset no feature service has: the job fails with NOT_FOUND from the feature service.
  bad.set_dataset_key("0123456789abcdef");
  {
    grpc::ClientContext context;
    ASSERT_TRUE(trainer->CreateJob(&context, bad, &job).ok());
  }
  // Polls the job until it fails (or 30 s pass).
  const auto wait_until_failed = [&] {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (job.state() != pb::TrainingJob::FAILED && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      grpc::ClientContext context;
      request.set_id(job.id());
      trainer->GetJob(&context, request, &job);
    }
  };
  wait_until_failed();
  EXPECT_EQ(job.state(), pb::TrainingJob::FAILED);
  EXPECT_EQ(job.error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND)) << job.error();
  EXPECT_NE(job.error().find("0123456789abcdef"), std::string::npos) << job.error();

  // A dataset damaged on the way (its bytes do not hash to the checksum sent with them): the
  // fetch fails with DATA_LOSS (which schedulers retry) and nothing is kept.
  class DamagingFeatures final : public pb::Features::Service {
    grpc::Status GetDataset(grpc::ServerContext*, const pb::GetDatasetRequest*,
                            grpc::ServerWriter<pb::DatasetChunk>* writer) override {
      pb::DatasetChunk chunk;
      chunk.set_total_bytes(8);
      chunk.set_data("damaged!");
      chunk.set_sha256(std::string(64, '0'));
      writer->Write(chunk);
      return grpc::Status::OK;
    }
  } damaging;
  auto fake = StartServer("127.0.0.1:0", {&damaging}, 4 << 20);
  ASSERT_TRUE(fake.ok()) << fake.status();
  bad.set_dataset_key("fedcba9876543210");
  bad.set_features_address(fake->address);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(trainer->CreateJob(&context, bad, &job).ok());
  }
  wait_until_failed();
  EXPECT_EQ(job.state(), pb::TrainingJob::FAILED);
  EXPECT_EQ(job.error_code(), static_cast<int>(grpc::StatusCode::DATA_LOSS)) << job.error();
  EXPECT_NE(job.error().find("sha256"), std::string::npos) << job.error();
  fake->server->Shutdown();
}

TEST_F(ClusterTest, BadSpecsAreInvalidArgumentNamingTheField) {
  pb::Ablation ablation;
  nlohmann::json unknown = SmallSpec("graph-toy");
  unknown["graph_sizez"] = {5};
  grpc::Status status = Create(unknown, "", &ablation);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("graph_sizez"), std::string::npos)
      << status.error_message();

  nlohmann::json empty = SmallSpec("graph-toy");
  empty["probes"] = nlohmann::json::array();
  status = Create(empty, "", &ablation);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("probes"), std::string::npos) << status.error_message();

  nlohmann::json huge = SmallSpec("graph-toy");
  nlohmann::json seeds = nlohmann::json::array();
  for (int s = 0; s < 20000; ++s) seeds.push_back(s);
  huge["seeds"] = seeds;
  status = Create(huge, "", &ablation);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("100000"), std::string::npos) << status.error_message();

  grpc::ClientContext context;
  pb::CreateAblationRequest request;
  request.set_spec_json("{not json");
  status = stub_->CreateAblation(&context, request, &ablation);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("spec_json"), std::string::npos);

  // The CLI says so and exits with 2 (bad input).
  const CommandResult cli =
      RunCli({"submit", "--coordinator", address_, WriteSpec("bad.json", unknown)});
  EXPECT_EQ(cli.exit_code, 2);
}

TEST_F(ClusterTest, CancelStopsWorkOnEveryService) {
  pb::Ablation ablation;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 2000), "", &ablation).ok());
  WaitFor(ablation.id(), [](const pb::Ablation& a) { return a.cells_running() > 0; });
  const CommandResult cancelled = RunCli({"cancel", "--coordinator", address_, ablation.id()});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.output;
  const CommandResult watched = RunCli({"watch", "--coordinator", address_, ablation.id()});
  EXPECT_EQ(watched.exit_code, 1) << watched.output;
  EXPECT_EQ(Get(ablation.id()).state(), pb::Ablation::CANCELLED);
  // Nothing of it keeps running on the trainer.
  auto trainer = pb::Trainer::NewStub(
      grpc::CreateChannel(trainers_[0]->address(), grpc::InsecureChannelCredentials()));
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  int busy = -1;
  while (Clock::now() < deadline && busy != 0) {
    grpc::ClientContext context;
    pb::ListTrainingJobsRequest request;
    request.set_ablation_id(ablation.id());
    pb::ListTrainingJobsResponse jobs;
    ASSERT_TRUE(trainer->ListJobs(&context, request, &jobs).ok());
    busy = 0;
    for (const pb::TrainingJob& job : jobs.jobs()) {
      busy += job.state() == pb::TrainingJob::QUEUED || job.state() == pb::TrainingJob::RUNNING ||
              job.state() == pb::TrainingJob::FETCHING;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(busy, 0);

  // Submitted again, a cancelled ablation runs again from what it had recorded.
  const int recorded = Get(ablation.id()).cells_done();
  pb::Ablation again;
  ASSERT_TRUE(Create(SmallSpec("graph-toy", 2000), "", &again).ok());
  EXPECT_EQ(again.id(), ablation.id());
  EXPECT_EQ(again.state(), pb::Ablation::RUNNING);
  const pb::Ablation rerunning =
      WaitFor(ablation.id(), [](const pb::Ablation& a) { return a.cells_running() > 0; });
  EXPECT_GT(rerunning.cells_running(), 0);
  EXPECT_GE(rerunning.cells_done(), recorded);
  EXPECT_EQ(RunCli({"cancel", "--coordinator", address_, ablation.id()}).exit_code, 0);
}

}  // namespace
}  // namespace gp
