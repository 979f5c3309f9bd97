// The feature service: dataset jobs run against the extractors (static list), a bounded
// number at a time; each job's request and state live in DATA/jobs/ID.json and its datasets
// in DATA/datasets/KEY.safetensors (written through a temporary file and a rename, so a
// served file is always whole). A restarted service requeues every unfinished job, which
// resumes from its checkpoint files. Finished jobs are kept within two budgets, the least
// recently used forgotten first (job_retention.h); asked for again, a job is built again.
//
//   FeaturesOptions options;
//   options.data_dir = "/data";
//   options.extractors = {"127.0.0.1:5001", "127.0.0.1:5002"};
//   FeaturesService service(options);
//   GP_RETURN_IF_ERROR(service.Start());  // recovers unfinished jobs, starts the workers
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ablation/attention_source.h"
#include "common/rpc/job_table.h"
#include "common/rpc/metrics.h"
#include "graphprobe/v1/features.grpc.pb.h"

namespace gp {

struct DatasetSpec;

struct FeaturesOptions {
  std::string data_dir;
  std::vector<std::string> extractors;  // host:port; empty: the live ones of `coordinator`
  std::string coordinator;
  int max_jobs = 2;            // jobs running at once
  int max_queued_jobs = 1000;  // beyond: RESOURCE_EXHAUSTED
  int keep_finished_jobs = 10000;
  int64_t max_dataset_bytes = int64_t{100} << 30;  // datasets and checkpoints of finished jobs
  double extract_deadline_seconds = 300;
  // When set, jobs capture through the source it makes instead of extractor services: the
  // embedded cluster's extractor in this process, whose rows need no serialization.
  std::function<absl::StatusOr<std::unique_ptr<AttentionSource>>(const ModelRef&)>
      in_process_source;
};

class FeaturesService final : public graphprobe::v1::Features::Service {
 public:
  explicit FeaturesService(FeaturesOptions options);
  ~FeaturesService() override;

  // Creates the data directories, requeues unfinished jobs and starts the workers.
  absl::Status Start();
  // Cancels running jobs (their checkpoints stay), stops the workers.
  void Stop();

  grpc::Status BuildDataset(grpc::ServerContext* context,
                            const graphprobe::v1::BuildDatasetRequest* request,
                            graphprobe::v1::Job* job) override;
  grpc::Status GetJob(grpc::ServerContext* context, const graphprobe::v1::JobRequest* request,
                      graphprobe::v1::Job* job) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const graphprobe::v1::JobRequest* request,
                        grpc::ServerWriter<graphprobe::v1::Job>* writer) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const graphprobe::v1::JobRequest* request,
                         graphprobe::v1::Job* job) override;
  grpc::Status GetDataset(grpc::ServerContext* context,
                          const graphprobe::v1::GetDatasetRequest* request,
                          grpc::ServerWriter<graphprobe::v1::DatasetChunk>* writer) override;

 private:
  struct JobEntry {
    graphprobe::v1::BuildDatasetRequest request;
    graphprobe::v1::Job job;
    std::atomic<bool> cancel{false};
    int version = 0;  // bumped at every change, for WatchJob
  };
  void RunJob(const std::string& id);
  // The job's attention source: the in-process one when configured, else remote extractors
  // (the static list, or the live ones registered with the coordinator).
  absl::StatusOr<std::unique_ptr<AttentionSource>> MakeSource(
      const graphprobe::v1::BuildDatasetRequest& request, const DatasetSpec& spec) const;
  // Writes DATA/jobs/ID.json (request and state); callers hold jobs_.mutex().
  absl::Status Persist(const JobEntry& entry) const;
  // After a change to `entry` (callers hold jobs_.mutex()): persisted, watchers woken.
  void Changed(JobEntry& entry);
  std::string DatasetPath(const std::string& key) const;
  std::string RecordPath(const std::string& id) const;
  // Forgets the least recently used finished jobs beyond the budgets, never `spared` (the job
  // whose change called it); callers hold jobs_.mutex().
  void Retain(const std::string& spared);
  void Update(const std::string& id, const std::function<void(graphprobe::v1::Job&)>& change);

  FeaturesOptions options_;
  JobTable<JobEntry> jobs_;
  std::atomic<int64_t> stored_bytes_{0};  // after the latest Retain
  std::unique_ptr<ScrapeHook> metrics_;   // jobs by state, stored bytes
};

}  // namespace gp
