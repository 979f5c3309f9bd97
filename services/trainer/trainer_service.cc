// Training jobs: queueing, dataset fetching and caching, training, artifacts, watching.
#include "services/trainer/trainer_service.h"

#include <c10/util/Logging.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/hash.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/probe/trainer.h"
#include "common/probe/training_artifacts.h"
#include "common/rpc/metrics.h"
#include "common/rpc/security.h"
#include "common/rpc/sha256.h"
#include "common/rpc/status.h"
#include "graphprobe/v1/features.grpc.pb.h"
#include "services/common/dataset_folder.h"
#include "services/trainer/training_request.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;

bool Finished(pb::TrainingJob::State state) {
  return state == pb::TrainingJob::SUCCEEDED || state == pb::TrainingJob::FAILED ||
         state == pb::TrainingJob::CANCELLED;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TrainerService::TrainerService(TrainerOptions options)
    : options_(std::move(options)),
      jobs_("training job", "the trainer",
            [](const pb::TrainingJob& job) { return Finished(job.state()); }) {}

TrainerService::~TrainerService() { Stop(); }

std::string TrainerService::JobDir(const std::string& id) const {
  return (fs::path(options_.work_dir) / "jobs" / id).string();
}

absl::Status TrainerService::Start() {
  std::error_code error;
  for (const char* sub : {"jobs", "datasets"}) {
    fs::create_directories(fs::path(options_.work_dir) / sub, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", options_.work_dir, "/", sub, ": ", error.message()));
    }
  }
  jobs_.StartWorkers(options_.max_jobs, [this](const std::string& id) { RunJob(id); });
  metrics_ = std::make_unique<ScrapeHook>([this] { return CollectMetrics(); });
  return absl::OkStatus();
}

std::vector<prometheus::MetricFamily> TrainerService::CollectMetrics() {
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  // The running jobs' latest epoch: series come and go with the jobs.
  std::vector<std::pair<std::map<std::string, std::string>, double>> loss, f1;
  for (const auto& [id, entry] : jobs_.entries()) {
    if (entry->job.state() == pb::TrainingJob::RUNNING && !entry->epochs.empty()) {
      const std::map<std::string, std::string> labels = {{"job", id},
                                                         {"cell", entry->job.cell_id()}};
      loss.push_back({labels, entry->epochs.back().train_loss()});
      f1.push_back({labels, entry->epochs.back().val_f1()});
    }
  }
  return {GaugeFamily("graphprobe_trainer_jobs", "Training jobs by state", jobs_.CountByState()),
          GaugeFamily("graphprobe_trainer_job_train_loss",
                      "Training loss of each running job's latest epoch", loss),
          GaugeFamily("graphprobe_trainer_job_val_f1",
                      "Validation F1 of each running job's latest epoch", f1)};
}

void TrainerService::Stop() {
  metrics_.reset();
  jobs_.Stop();
}

void TrainerService::Update(const std::string& id, const std::function<void(JobEntry&)>& change) {
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  JobEntry* entry = jobs_.Find(id);
  if (entry == nullptr) return;  // forgotten (a running job never is: see Changed)
  change(*entry);
  Changed(*entry);
}

void TrainerService::Changed(JobEntry& entry) {
  jobs_.Changed(entry);
  if (!Finished(entry.job.state())) {
    // Submitted again after it ended: no longer among the finished, so never forgotten while
    // it runs.
    finished_.erase(entry.finished);
    entry.finished = 0;
    return;
  }
  if (entry.finished != 0) return;
  entry.finished = ++finished_count_;
  finished_[entry.finished] = entry.job.id();
  int forgotten = 0;
  while (static_cast<int64_t>(finished_.size()) > options_.keep_finished_jobs) {
    const auto oldest = finished_.begin();
    // Cancelled while queued, it waits for a worker to skip it: forgotten at a later end.
    if (!jobs_.Forget(oldest->second)) break;
    // Under the lock, so that a job submitted again under this id cannot write there first;
    // a few small files.
    std::error_code ignored;
    fs::remove_all(JobDir(oldest->second), ignored);
    finished_.erase(oldest);
    ++forgotten;
  }
  if (forgotten > 0) {
    LOG(INFO) << "event=jobs_forgotten count=" << forgotten
              << " keep_finished_jobs=" << options_.keep_finished_jobs;
  }
}

absl::StatusOr<std::string> TrainerService::FetchDataset(const std::string& key,
                                                         const std::string& features_address,
                                                         const std::atomic<bool>* cancel) {
  const std::string path =
      (fs::path(options_.work_dir) / "datasets" / (key + ".safetensors")).string();
  std::lock_guard<std::mutex> lock(fetch_mutex_);
  if (fs::exists(path)) {
    TouchDataset(path);
    return path;
  }
  auto channel = MakeChannel(features_address);
  auto stub = pb::Features::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, options_.fetch_deadline_seconds);
  pb::GetDatasetRequest request;
  request.set_key(key);
  auto reader = stub->GetDataset(&context, request);
  const std::string partial = path + ".download";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  pb::DatasetChunk chunk;
  uint64_t received = 0, total = 0;
  Sha256 hash;
  std::string expected_sha256;
  while (reader->Read(&chunk)) {
    if (cancel->load()) context.TryCancel();
    if (chunk.offset() != received) {
      context.TryCancel();
      reader->Finish();
      return absl::DataLossError(absl::StrCat("dataset ", key, " from ", features_address,
                                              ": chunk at ", chunk.offset(), ", expected ",
                                              received));
    }
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    hash.Update(chunk.data());
    received += chunk.data().size();
    total = chunk.total_bytes();
    if (!chunk.sha256().empty()) expected_sha256 = chunk.sha256();
  }
  const grpc::Status status = reader->Finish();
  out.close();
  if (!status.ok()) {
    fs::remove(partial);
    if (cancel->load()) return absl::CancelledError("cancelled while fetching the dataset");
    return FromGrpcStatus(status, absl::StrCat("dataset ", key, " from ", features_address));
  }
  if (received != total || !out) {
    fs::remove(partial);
    return absl::DataLossError(absl::StrCat("dataset ", key, " from ", features_address, ": got ",
                                            received, " of ", total, " bytes"));
  }
  const std::string actual_sha256 = hash.HexDigest();
  if (actual_sha256 != expected_sha256) {
    fs::remove(partial);
    return absl::DataLossError(absl::StrCat("dataset ", key, " from ", features_address,
                                            ": sha256 ", actual_sha256, ", the service sent '",
                                            expected_sha256, "'"));
  }
  std::error_code error;
  fs::rename(partial, path, error);
  if (error) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", error.message()));
  LOG(INFO) << "event=dataset_fetched key=" << key << " bytes=" << total
            << " from=" << features_address;
  // This one is the most recent; the jobs between their fetch and their load hold the next.
  const TrimmedDatasets trimmed =
      TrimDatasetFolder((fs::path(options_.work_dir) / "datasets").string(),
                        options_.max_dataset_bytes, options_.max_jobs + 1);
  if (trimmed.files > 0) {
    LOG(INFO) << "event=datasets_trimmed count=" << trimmed.files << " bytes=" << trimmed.bytes
              << " max_dataset_bytes=" << options_.max_dataset_bytes;
  }
  return path;
}

absl::StatusOr<std::shared_ptr<const ProbeDataset>> TrainerService::DatasetFor(
    const std::string& key, const std::string& features_address, const std::atomic<bool>* cancel) {
  std::unique_lock<std::mutex> lock(datasets_mutex_);
  const auto loaded = [&]() -> std::shared_ptr<const ProbeDataset> {
    for (auto it = loaded_.begin(); it != loaded_.end(); ++it) {
      if (it->first == key) {
        loaded_.splice(loaded_.begin(), loaded_, it);
        return it->second;
      }
    }
    return nullptr;
  };
  // In memory, its file is not needed (and may have been trimmed from the folder).
  if (auto data = loaded()) return data;
  lock.unlock();
  GP_ASSIGN_OR_RETURN(const std::string path, FetchDataset(key, features_address, cancel));
  lock.lock();
  if (auto data = loaded()) return data;  // another job of this key loaded it meanwhile
  GP_ASSIGN_OR_RETURN(ProbeDataset data, LoadProbeDataset(path));
  loaded_.emplace_front(key, std::make_shared<const ProbeDataset>(std::move(data)));
  // As many as jobs may run at once, plus the next one's.
  while (static_cast<int>(loaded_.size()) > options_.max_jobs + 1) loaded_.pop_back();
  return loaded_.front().second;
}

void TrainerService::RunJob(const std::string& id) {
  pb::CreateTrainingJobRequest request;
  std::atomic<bool>* cancel;
  {
    std::lock_guard<std::mutex> lock(jobs_.mutex());
    JobEntry* entry = jobs_.Find(id);
    // Cancelled between the queue and here: CancelJob has recorded it as cancelled already.
    if (entry == nullptr || entry->job.state() == pb::TrainingJob::CANCELLED) return;
    request = entry->request;
    cancel = &entry->cancel;
  }
  const auto end = [&](const absl::Status& status) {
    const bool cancelled = status.code() == absl::StatusCode::kCancelled;
    Update(id, [&](JobEntry& entry) {
      entry.job.set_state(cancelled ? pb::TrainingJob::CANCELLED : pb::TrainingJob::FAILED);
      entry.job.set_error(std::string(status.message()));
      entry.job.set_error_code(static_cast<int>(status.code()));
    });
    LOG(INFO) << "event=training_ended id=" << id << " cell=" << request.cell_id() << " status=\""
              << status.message() << "\"";
  };
  Update(id, [](JobEntry& entry) { entry.job.set_state(pb::TrainingJob::FETCHING); });
  absl::StatusOr<std::shared_ptr<const ProbeDataset>> data =
      DatasetFor(request.dataset_key(), request.features_address(), cancel);
  if (!data.ok()) return end(data.status());
  absl::StatusOr<TrainOptions> options = TrainOptionsOf(request.options());
  if (!options.ok()) return end(options.status());
  ApplyFeatureLayout(**data, &options->probe);
  Update(id, [](JobEntry& entry) { entry.job.set_state(pb::TrainingJob::RUNNING); });
  static prometheus::Counter& epochs_total = ProcessCounter(
      "graphprobe_trainer_epochs_total", "Epochs (Newton iterations for logistic probes) trained");
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<TrainResult> result = TrainProbe(
      **data, *options,
      [&](const EpochRecord& record) {
        epochs_total.Increment();
        Update(id, [&](JobEntry& entry) {
          pb::EpochRecord epoch;
          epoch.set_epoch(record.epoch);
          epoch.set_train_loss(record.train_loss);
          epoch.set_val_loss(record.val.loss);
          epoch.set_val_f1(record.val.f1);
          epoch.set_val_auc(record.val.auc);
          entry.epochs.push_back(epoch);
          entry.job.set_epochs_done(record.epoch);
        });
      },
      cancel);
  if (!result.ok()) return end(result.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const absl::Status written =
      WriteTrainingArtifacts(**data, *options, *result,
                             {{"probe", options->probe.kind},
                              {"control", ProbeControlName(options->control)},
                              {"dataset_key", request.dataset_key()},
                              {"cell_id", request.cell_id()},
                              {"seconds", seconds}},
                             JobDir(id));
  if (!written.ok()) return end(written);
  Update(id, [&](JobEntry& entry) {
    entry.job.set_state(pb::TrainingJob::SUCCEEDED);
    entry.job.set_seconds(seconds);
  });
  LOG(INFO) << "event=training_succeeded id=" << id << " cell=" << request.cell_id()
            << " seconds=" << seconds << " test_f1=" << result->test.f1;
}

grpc::Status TrainerService::CreateJob(grpc::ServerContext*,
                                       const pb::CreateTrainingJobRequest* request,
                                       pb::TrainingJob* job) {
  absl::StatusOr<TrainOptions> options = CheckCreateTrainingJobRequest(*request);
  if (!options.ok()) return ToGrpcStatus(options.status());
  const std::string request_id =
      request->request_id().empty() ? request->SerializeAsString() : request->request_id();
  const std::string id = absl::StrFormat("%016x", Fnv1a64(request_id));
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  if (jobs_.stopping()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the trainer is shutting down");
  }
  if (JobEntry* entry = jobs_.Find(id)) {
    // The same request again: the same job. A failed or cancelled one runs again.
    if (entry->job.state() == pb::TrainingJob::FAILED ||
        entry->job.state() == pb::TrainingJob::CANCELLED) {
      entry->cancel = false;
      entry->job.set_state(pb::TrainingJob::QUEUED);
      entry->job.clear_error();
      entry->job.clear_error_code();
      entry->job.set_epochs_done(0);
      entry->epochs.clear();
      Changed(*entry);
      jobs_.Enqueue(id);
    }
    *job = entry->job;
    return grpc::Status::OK;
  }
  if (grpc::Status room = jobs_.CheckRoom(options_.max_queued_jobs); !room.ok()) return room;
  auto entry = std::make_unique<JobEntry>();
  entry->request = *request;
  entry->created = created_count_++;
  entry->job.set_id(id);
  entry->job.set_request_id(request->request_id());
  entry->job.set_state(pb::TrainingJob::QUEUED);
  entry->job.set_ablation_id(request->ablation_id());
  entry->job.set_cell_id(request->cell_id());
  entry->job.set_dataset_key(request->dataset_key());
  entry->job.set_epochs_total(IsLogisticProbe(options->probe.kind) ? 0 : options->epochs);
  *job = entry->job;
  jobs_.Insert(id, std::move(entry));
  jobs_.Enqueue(id);
  LOG(INFO) << "event=training_queued id=" << id << " cell=" << request->cell_id();
  return grpc::Status::OK;
}

grpc::Status TrainerService::GetJob(grpc::ServerContext*, const pb::TrainingJobRequest* request,
                                    pb::TrainingJob* job) {
  return jobs_.Get(request->id(), request->wait_seconds(), job);
}

grpc::Status TrainerService::ListJobs(grpc::ServerContext*,
                                      const pb::ListTrainingJobsRequest* request,
                                      pb::ListTrainingJobsResponse* response) {
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  std::vector<const JobEntry*> matching;
  for (const auto& [id, entry] : jobs_.entries()) {
    if (request->state() != pb::TrainingJob::STATE_UNSPECIFIED &&
        entry->job.state() != request->state()) {
      continue;
    }
    if (!request->ablation_id().empty() && entry->job.ablation_id() != request->ablation_id()) {
      continue;
    }
    matching.push_back(entry.get());
  }
  std::sort(matching.begin(), matching.end(),
            [](const JobEntry* a, const JobEntry* b) { return a->created > b->created; });
  const size_t limit = request->limit() > 0 ? static_cast<size_t>(request->limit()) : 1000;
  for (size_t i = 0; i < std::min(limit, matching.size()); ++i) {
    *response->add_jobs() = matching[i]->job;
  }
  return grpc::Status::OK;
}

grpc::Status TrainerService::CancelJob(grpc::ServerContext*, const pb::TrainingJobRequest* request,
                                       pb::TrainingJob* job) {
  return jobs_.Cancel(request->id(), job, [this](JobEntry& entry) { Changed(entry); });
}

grpc::Status TrainerService::WatchJob(grpc::ServerContext* context,
                                      const pb::TrainingJobRequest* request,
                                      grpc::ServerWriter<pb::TrainingJob>* writer) {
  size_t epochs_sent = 0;
  return jobs_.Watch(
      context, request->id(),
      [&](const JobEntry& entry, pb::TrainingJob* job) {
        *job = entry.job;
        // Each message carries the epochs since the last one (all of them after a rerun).
        if (epochs_sent > entry.epochs.size()) epochs_sent = 0;
        for (size_t i = epochs_sent; i < entry.epochs.size(); ++i) {
          *job->add_epochs() = entry.epochs[i];
        }
        epochs_sent = entry.epochs.size();
      },
      writer, std::chrono::milliseconds(50));
}

grpc::Status TrainerService::GetArtifacts(grpc::ServerContext*, const pb::ArtifactsRequest* request,
                                          pb::TrainingArtifacts* artifacts) {
  {
    std::lock_guard<std::mutex> lock(jobs_.mutex());
    const JobEntry* entry = jobs_.Find(request->id());
    if (entry == nullptr) return jobs_.NotFound(request->id());
    if (entry->job.state() != pb::TrainingJob::SUCCEEDED) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("training job '", request->id(), "' has not succeeded"));
    }
  }
  const fs::path dir(JobDir(request->id()));
  absl::StatusOr<std::string> metrics = ReadFile((dir / kMetricsFile).string());
  if (!metrics.ok()) return ToGrpcStatus(absl::DataLossError(metrics.status().message()));
  artifacts->set_metrics_json(*metrics);
  if (!request->metrics_only()) {
    absl::StatusOr<std::string> history = ReadFile((dir / kHistoryFile).string());
    absl::StatusOr<std::string> model = ReadFile((dir / kModelFile).string());
    absl::StatusOr<std::string> predictions = ReadFile((dir / kPredictionsFile).string());
    for (const absl::Status& status : {history.status(), model.status(), predictions.status()}) {
      if (!status.ok()) return ToGrpcStatus(absl::DataLossError(status.message()));
    }
    artifacts->set_history_csv(*history);
    artifacts->set_model_safetensors(*model);
    artifacts->set_predictions_safetensors(*predictions);
  }
  const nlohmann::json parsed = nlohmann::json::parse(*metrics, nullptr, false);
  if (parsed.is_object() && parsed.contains("head_ranking")) {
    artifacts->set_head_ranking_json(parsed["head_ranking"].dump());
  }
  return grpc::Status::OK;
}

}  // namespace gp
