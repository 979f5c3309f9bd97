// The coordinator service: ablations submitted over RPC, each run by the scheduler
// (common/ablation) on the remote executor against the registered workers, with every cell's
// result recorded exactly once in the store. A restarted coordinator resumes every ablation
// that was running; workers register and keep leases with heartbeats.
//
//   CoordinatorOptions options;
//   options.state_dir = "/state";
//   CoordinatorService service(options);
//   GP_RETURN_IF_ERROR(service.Start());  // opens the state, resumes unfinished ablations
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/ablation/ablation_spec.h"
#include "common/rpc/metrics.h"
#include "graphprobe/v1/coordinator.grpc.pb.h"
#include "services/coordinator/coordinator_store.h"
#include "services/coordinator/remote_cell_executor.h"

namespace gp {

struct CoordinatorOptions {
  std::string state_dir;
  double lease_seconds = 10;       // a worker that missed heartbeats this long gets no more work
  RemoteExecutorOptions executor;  // its deadlines and polling; the rest is filled per ablation
  int max_attempts = 5;            // per cell and build, for retryable failures
};

// Succeeded, failed or cancelled: nothing more will run.
bool AblationFinished(graphprobe::v1::Ablation::State state);

// An ablation's state and its result files (results.csv, summary.csv, results.json,
// heads-MODEL.csv) by name, as `graphprobe results` writes them.
struct AblationResultFiles {
  graphprobe::v1::Ablation ablation;
  std::vector<std::pair<std::string, std::string>> files;
};

class CoordinatorService final : public graphprobe::v1::Coordinator::Service {
 public:
  explicit CoordinatorService(CoordinatorOptions options);
  ~CoordinatorService() override;

  absl::Status Start();
  // Stops every running ablation where it is (they stay running in the state: the next start
  // resumes them).
  void Stop();

  // NotFound for an unknown id. What GetResults sends and the report server renders.
  absl::StatusOr<AblationResultFiles> ResultFilesOf(const std::string& id);

  // Where the reports are served (http://host:port, report_server.h): every ablation described
  // from now on carries its report_url. Unset, none does.
  void SetReportUrlBase(const std::string& base);

  grpc::Status CreateAblation(grpc::ServerContext* context,
                              const graphprobe::v1::CreateAblationRequest* request,
                              graphprobe::v1::Ablation* ablation) override;
  grpc::Status GetAblation(grpc::ServerContext* context,
                           const graphprobe::v1::AblationRequest* request,
                           graphprobe::v1::Ablation* ablation) override;
  grpc::Status ListAblations(grpc::ServerContext* context,
                             const graphprobe::v1::ListAblationsRequest* request,
                             graphprobe::v1::ListAblationsResponse* response) override;
  grpc::Status WatchAblation(grpc::ServerContext* context,
                             const graphprobe::v1::AblationRequest* request,
                             grpc::ServerWriter<graphprobe::v1::Ablation>* writer) override;
  grpc::Status CancelAblation(grpc::ServerContext* context,
                              const graphprobe::v1::AblationRequest* request,
                              graphprobe::v1::Ablation* ablation) override;
  grpc::Status GetResults(grpc::ServerContext* context,
                          const graphprobe::v1::AblationRequest* request,
                          graphprobe::v1::AblationResults* results) override;
  grpc::Status Register(grpc::ServerContext* context,
                        const graphprobe::v1::RegisterRequest* request,
                        graphprobe::v1::Lease* lease) override;
  grpc::Status Heartbeat(grpc::ServerContext* context,
                         const graphprobe::v1::HeartbeatRequest* request,
                         graphprobe::v1::Lease* lease) override;
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const graphprobe::v1::ListWorkersRequest* request,
                           graphprobe::v1::ListWorkersResponse* response) override;

 private:
  // An ablation this process is running: its scheduler thread and live progress.
  struct Active {
    AblationSpec spec;
    std::vector<AblationCell> cells;
    graphprobe::v1::Ablation status;
    std::atomic<bool> cancel{false};
    bool cancelled_by_user = false;
    int version = 0;
    std::thread thread;
  };
  absl::StatusOr<graphprobe::v1::Ablation> Describe(const std::string& id);  // with report_url
  absl::StatusOr<graphprobe::v1::Ablation> DescribeState(const std::string& id);
  void AddReportUrl(graphprobe::v1::Ablation* ablation) const;  // callers hold mutex_
  void Launch(const StoredAblation& stored);                    // callers hold mutex_
  void RunAblation(const std::string& id);
  std::vector<LiveWorker> LiveWorkersOf(const std::string& kind);
  std::vector<prometheus::MetricFamily> CollectMetrics();  // cells, ablations, workers

  CoordinatorOptions options_;
  std::unique_ptr<CoordinatorStore> store_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::unique_ptr<Active>> active_;
  bool stopping_ = false;
  std::unique_ptr<ScrapeHook> metrics_;
  std::string report_url_base_;  // guarded by mutex_
};

}  // namespace gp
