// The trainer service: probe training jobs on datasets fetched from feature services. A job
// fetches its dataset once per content key into WORK/datasets/KEY.safetensors (through a
// temporary file and a rename), trains in a pool of --max-jobs workers, and writes its
// artifacts (training_artifacts.h) to WORK/jobs/ID/. Jobs live in memory: a restarted trainer
// starts empty and the coordinator gives lost jobs to a trainer again. It keeps the last
// keep_finished_jobs finished jobs; older ones are forgotten, in memory and on disk (the
// coordinator fetches a job's artifacts as soon as it ends), so a trainer that serves
// ablation after ablation stays bounded.
//
//   TrainerOptions options;
//   options.work_dir = "/work";
//   TrainerService service(options);
//   GP_RETURN_IF_ERROR(service.Start());
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/probe/dataset.h"
#include "common/rpc/job_table.h"
#include "common/rpc/metrics.h"
#include "graphprobe/v1/trainer.grpc.pb.h"

namespace gp {

struct TrainerOptions {
  std::string work_dir;
  int max_jobs = 2;              // jobs training at once
  int max_queued_jobs = 100000;  // beyond: RESOURCE_EXHAUSTED
  // Finished jobs kept (GetJob, GetArtifacts, ListJobs, their WORK/jobs/ID folders); the
  // oldest beyond it are forgotten: GetJob NOT_FOUND, folder deleted.
  int keep_finished_jobs = 10000;
  // Bytes of fetched datasets kept under WORK/datasets: beyond, the least recently used are
  // deleted (fetched again if needed), never the max_jobs + 1 most recently used.
  int64_t max_dataset_bytes = int64_t{20} << 30;
  double fetch_deadline_seconds = 600;
};

class TrainerService final : public graphprobe::v1::Trainer::Service {
 public:
  explicit TrainerService(TrainerOptions options);
  ~TrainerService() override;

  // Creates the work directories and starts the workers.
  absl::Status Start();
  // Cancels every job, stops the workers.
  void Stop();

  grpc::Status CreateJob(grpc::ServerContext* context,
                         const graphprobe::v1::CreateTrainingJobRequest* request,
                         graphprobe::v1::TrainingJob* job) override;
  grpc::Status GetJob(grpc::ServerContext* context,
                      const graphprobe::v1::TrainingJobRequest* request,
                      graphprobe::v1::TrainingJob* job) override;
  grpc::Status ListJobs(grpc::ServerContext* context,
                        const graphprobe::v1::ListTrainingJobsRequest* request,
                        graphprobe::v1::ListTrainingJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context,
                         const graphprobe::v1::TrainingJobRequest* request,
                         graphprobe::v1::TrainingJob* job) override;
  grpc::Status WatchJob(grpc::ServerContext* context,
                        const graphprobe::v1::TrainingJobRequest* request,
                        grpc::ServerWriter<graphprobe::v1::TrainingJob>* writer) override;
  grpc::Status GetArtifacts(grpc::ServerContext* context,
                            const graphprobe::v1::ArtifactsRequest* request,
                            graphprobe::v1::TrainingArtifacts* artifacts) override;

 private:
  struct JobEntry {
    graphprobe::v1::CreateTrainingJobRequest request;
    graphprobe::v1::TrainingJob job;  // without epochs
    std::vector<graphprobe::v1::EpochRecord> epochs;
    std::atomic<bool> cancel{false};
    int version = 0;  // bumped at every change, for WatchJob
    int64_t created = 0;
    int64_t finished = 0;  // when it last ended, in finishing order (finished_); 0 while not
  };
  void RunJob(const std::string& id);
  void Update(const std::string& id, const std::function<void(JobEntry&)>& change);
  // After a change to `entry` (jobs_.mutex() held): wakes its watchers and, when it has just
  // ended, records it and forgets the oldest finished jobs beyond keep_finished_jobs.
  void Changed(JobEntry& entry);
  // The dataset file of `key`, fetched from `features_address` unless already here.
  absl::StatusOr<std::string> FetchDataset(const std::string& key,
                                           const std::string& features_address,
                                           const std::atomic<bool>* cancel);
  // The dataset of `key`: from memory when a recent job loaded it, else fetched (unless on
  // disk already) and loaded.
  absl::StatusOr<std::shared_ptr<const ProbeDataset>> DatasetFor(
      const std::string& key, const std::string& features_address, const std::atomic<bool>* cancel);
  std::string JobDir(const std::string& id) const;
  std::vector<prometheus::MetricFamily> CollectMetrics();  // jobs by state, running jobs

  TrainerOptions options_;
  JobTable<JobEntry> jobs_;
  int64_t created_count_ = 0;  // guarded by jobs_.mutex()
  // Finished jobs by when they ended (JobEntry::finished -> id), oldest first; guarded by
  // jobs_.mutex().
  std::map<int64_t, std::string> finished_;
  int64_t finished_count_ = 0;
  // The last datasets loaded (a dataset's cells usually follow each other), by content key.
  std::mutex datasets_mutex_;
  std::list<std::pair<std::string, std::shared_ptr<const ProbeDataset>>> loaded_;
  std::mutex fetch_mutex_;  // one download at a time: concurrent jobs of one key fetch once
  std::unique_ptr<ScrapeHook> metrics_;
};

}  // namespace gp
