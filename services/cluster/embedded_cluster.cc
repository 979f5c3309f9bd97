// Starting and stopping the in-process services, in dependency order.
#include "services/cluster/embedded_cluster.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "common/rpc/worker_registration.h"
#include "services/coordinator/coordinator_service.h"
#include "services/extractor/extractor_service.h"
#include "services/extractor/in_process_source.h"
#include "services/features/features_service.h"
#include "services/trainer/trainer_service.h"

namespace gp {

struct EmbeddedCluster::Parts {
  std::unique_ptr<CoordinatorService> coordinator;
  std::unique_ptr<ExtractorService> extractor;
  std::unique_ptr<FeaturesService> features;
  std::unique_ptr<TrainerService> trainer;
  RunningServer coordinator_server, extractor_server, features_server, trainer_server;
  std::vector<std::unique_ptr<WorkerRegistration>> registrations;

  ~Parts() {
    // The coordinator first (nothing new is scheduled), then the workers it used.
    if (coordinator) coordinator->Stop();
    if (coordinator_server.server) coordinator_server.server->Shutdown();
    registrations.clear();
    if (trainer) trainer->Stop();
    if (trainer_server.server) trainer_server.server->Shutdown();
    if (features) features->Stop();
    if (features_server.server) features_server.server->Shutdown();
    if (extractor) extractor->Stop();
    if (extractor_server.server) extractor_server.server->Shutdown();
  }
};

EmbeddedCluster::EmbeddedCluster(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
EmbeddedCluster::~EmbeddedCluster() = default;

const std::string& EmbeddedCluster::coordinator_address() const {
  return parts_->coordinator_server.address;
}

absl::StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(
    const EmbeddedClusterOptions& options) {
  namespace fs = std::filesystem;
  const fs::path root(options.state_dir);
  auto parts = std::make_unique<Parts>();

  CoordinatorOptions coordinator;
  coordinator.state_dir = (root / "coordinator").string();
  parts->coordinator = std::make_unique<CoordinatorService>(coordinator);
  GP_RETURN_IF_ERROR(parts->coordinator->Start());
  GP_ASSIGN_OR_RETURN(parts->coordinator_server,
                      StartServer("127.0.0.1:0", {parts->coordinator.get()}, 64 << 20));
  const std::string& coordinator_address = parts->coordinator_server.address;

  ExtractorOptions extractor;
  extractor.model_root = options.model_root;
  extractor.cuda_graphs = options.cuda_graphs;
  parts->extractor = std::make_unique<ExtractorService>(extractor);
  GP_ASSIGN_OR_RETURN(parts->extractor_server,
                      StartServer("127.0.0.1:0", {parts->extractor.get()}, 64 << 20));

  FeaturesOptions features;
  features.data_dir = (root / "features").string();
  features.extractors = {parts->extractor_server.address};
  // The extractor's batcher without the wire: the attention rows of a family (about 110 MB
  // for the default grid's) stay in memory (docs/PERFORMANCE.md).
  ExtractorService* extractor_service = parts->extractor.get();
  features.in_process_source =
      [extractor_service](
          const ModelRef& model) -> absl::StatusOr<std::unique_ptr<AttentionSource>> {
    GP_ASSIGN_OR_RETURN(auto source, InProcessExtractorSource::Create(extractor_service, model));
    return std::unique_ptr<AttentionSource>(std::move(source));
  };
  features.max_jobs = options.feature_jobs;
  parts->features = std::make_unique<FeaturesService>(features);
  GP_ASSIGN_OR_RETURN(parts->features_server,
                      StartServer("127.0.0.1:0", {parts->features.get()}, 4 << 20));
  GP_RETURN_IF_ERROR(parts->features->Start());

  TrainerOptions trainer;
  trainer.work_dir = (root / "trainer").string();
  trainer.max_jobs = options.trainer_jobs;
  parts->trainer = std::make_unique<TrainerService>(trainer);
  GP_RETURN_IF_ERROR(parts->trainer->Start());
  GP_ASSIGN_OR_RETURN(parts->trainer_server,
                      StartServer("127.0.0.1:0", {parts->trainer.get()}, 64 << 20));

  for (const char* service : {"coordinator", "extractor", "features", "trainer"}) {
    RecordBuildInfo(service, "cpu");
  }
  for (RunningServer* server : {&parts->coordinator_server, &parts->extractor_server,
                                &parts->features_server, &parts->trainer_server}) {
    SetServing(server->server.get(), true);
  }
  const std::vector<RegistrationOptions> workers = {
      {coordinator_address, "extractor", parts->extractor_server.address, 1},
      {coordinator_address, "features", parts->features_server.address, options.feature_jobs},
      {coordinator_address, "trainer", parts->trainer_server.address, options.trainer_jobs}};
  for (const RegistrationOptions& worker : workers) {
    parts->registrations.push_back(std::make_unique<WorkerRegistration>(worker));
  }
  for (const auto& registration : parts->registrations) {
    GP_RETURN_IF_ERROR(registration->WaitRegistered(30));
  }
  return std::unique_ptr<EmbeddedCluster>(new EmbeddedCluster(std::move(parts)));
}

}  // namespace gp
