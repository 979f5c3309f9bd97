// Dataset jobs: queueing, running against the extractors, persistence and recovery, serving.
#include "services/features/features_service.h"

#include <c10/util/Logging.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/ablation/dataset_builder.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/rpc/metrics.h"
#include "common/rpc/remote_attention_source.h"
#include "common/rpc/sha256.h"
#include "common/rpc/status.h"
#include "common/rpc/tensor_wire.h"
#include "common/rpc/worker_registration.h"
#include "services/common/dataset_folder.h"
#include "services/features/dataset_request.h"
#include "services/features/job_retention.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;

bool Finished(pb::Job::State state) {
  return state == pb::Job::SUCCEEDED || state == pb::Job::FAILED || state == pb::Job::CANCELLED;
}

}  // namespace

FeaturesService::FeaturesService(FeaturesOptions options)
    : options_(std::move(options)), jobs_("job", "the feature service", [](const pb::Job& job) {
        return Finished(job.state());
      }) {}

FeaturesService::~FeaturesService() { Stop(); }

std::string FeaturesService::DatasetPath(const std::string& key) const {
  return (fs::path(options_.data_dir) / "datasets" / (key + ".safetensors")).string();
}

std::string FeaturesService::RecordPath(const std::string& id) const {
  return (fs::path(options_.data_dir) / "jobs" / (id + ".json")).string();
}

void FeaturesService::Retain(const std::string& spared) {
  std::vector<StoredJob> finished;
  std::set<std::string> in_use;
  for (const auto& [id, entry] : jobs_.entries()) {
    std::vector<std::string> paths;
    for (const std::string& key : entry->job.dataset_keys()) paths.push_back(DatasetPath(key));
    if (Finished(entry->job.state()) && id != spared) {
      finished.push_back(StatStoredJob(id, RecordPath(id), paths));
      continue;
    }
    for (const std::string& path : paths) {
      in_use.insert(path);
      in_use.insert(path + ".partial");
    }
  }
  RetentionLimits limits;
  limits.max_jobs = options_.keep_finished_jobs - (spared.empty() ? 0 : 1);
  limits.max_bytes = options_.max_dataset_bytes;
  // Jobs that ended about now (as many as may run at once): the coordinator has yet to hear of
  // them, trainers to fetch their datasets.
  limits.keep_recent = options_.max_jobs;
  const Retained retained =
      ForgetLeastRecentlyUsed(std::move(finished), in_use, limits, [this](const std::string& id) {
        if (!jobs_.Forget(id)) return false;  // cancelled while queued: at a later end
        std::error_code ignored;
        fs::remove(RecordPath(id), ignored);
        return true;
      });
  stored_bytes_ = retained.bytes;
  // Made at the first call (Start's), so that the series is there from the start.
  static prometheus::Counter& forgotten = ProcessCounter(
      "graphprobe_features_jobs_forgotten_total",
      "Finished dataset jobs forgotten (record and files) to stay within the retention limits");
  forgotten.Increment(retained.forgotten);
  if (retained.forgotten > 0) {
    LOG(INFO) << "event=jobs_forgotten count=" << retained.forgotten
              << " bytes_deleted=" << retained.bytes_deleted << " bytes=" << retained.bytes
              << " max_dataset_bytes=" << options_.max_dataset_bytes
              << " keep_finished_jobs=" << options_.keep_finished_jobs;
  }
}

absl::Status FeaturesService::Persist(const JobEntry& entry) const {
  std::string request, job;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(entry.request, &request, print).ok() ||
      !google::protobuf::util::MessageToJsonString(entry.job, &job, print).ok()) {
    return absl::InternalError("cannot encode job " + entry.job.id());
  }
  const nlohmann::json record = {{"request", nlohmann::json::parse(request)},
                                 {"job", nlohmann::json::parse(job)}};
  return WriteJsonFile(RecordPath(entry.job.id()), record);
}

absl::Status FeaturesService::Start() {
  std::error_code error;
  for (const char* sub : {"jobs", "datasets"}) {
    fs::create_directories(fs::path(options_.data_dir) / sub, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", options_.data_dir, "/", sub, ": ", error.message()));
    }
  }
  // Recover: every job not finished goes back to the queue and resumes from its checkpoints.
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  for (const auto& file : fs::directory_iterator(fs::path(options_.data_dir) / "jobs")) {
    if (file.path().extension() != ".json") continue;
    absl::StatusOr<nlohmann::json> record = ReadJsonFile(file.path().string());
    auto entry = std::make_unique<JobEntry>();
    if (!record.ok() || !record->contains("request") || !record->contains("job") ||
        !google::protobuf::util::JsonStringToMessage((*record)["request"].dump(), &entry->request)
             .ok() ||
        !google::protobuf::util::JsonStringToMessage((*record)["job"].dump(), &entry->job).ok()) {
      LOG(WARNING) << "event=job_unreadable file=" << file.path();
      continue;
    }
    const std::string id = entry->job.id();
    JobEntry& recovered = jobs_.Insert(id, std::move(entry));
    if (!Finished(recovered.job.state())) {
      recovered.job.set_state(pb::Job::QUEUED);
      jobs_.Enqueue(id);
      LOG(INFO) << "event=job_recovered id=" << id
                << " graphs_done=" << recovered.job.graphs_done();
    }
  }
  Retain("");  // the limits may be lower than at the last run
  jobs_.StartWorkers(options_.max_jobs, [this](const std::string& id) { RunJob(id); });
  metrics_ = std::make_unique<ScrapeHook>([this] {
    std::lock_guard<std::mutex> lock(jobs_.mutex());
    return std::vector<prometheus::MetricFamily>{
        GaugeFamily("graphprobe_features_jobs", "Dataset jobs by state", jobs_.CountByState()),
        GaugeFamily("graphprobe_features_stored_bytes",
                    "Bytes of datasets and checkpoints under --data, after the latest job ended",
                    {{{}, static_cast<double>(stored_bytes_.load())}})};
  });
  return absl::OkStatus();
}

void FeaturesService::Stop() {
  metrics_.reset();
  jobs_.Stop();
}

void FeaturesService::Changed(JobEntry& entry) {
  const absl::Status persisted = Persist(entry);
  if (!persisted.ok()) {
    LOG(WARNING) << "event=job_not_persisted id=" << entry.job.id() << " " << persisted;
  }
  jobs_.Changed(entry);
  if (Finished(entry.job.state())) Retain(entry.job.id());
}

void FeaturesService::Update(const std::string& id, const std::function<void(pb::Job&)>& change) {
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  JobEntry* entry = jobs_.Find(id);
  if (entry == nullptr) return;  // forgotten (a running job never is: Retain spares it)
  change(entry->job);
  Changed(*entry);
}

absl::StatusOr<std::unique_ptr<AttentionSource>> FeaturesService::MakeSource(
    const pb::BuildDatasetRequest& request, const DatasetSpec& spec) const {
  if (options_.in_process_source) return options_.in_process_source(ModelRefOf(spec));
  RemoteSourceOptions remote;
  remote.extractors = options_.extractors;
  if (remote.extractors.empty()) {
    GP_ASSIGN_OR_RETURN(remote.extractors, LiveWorkers(options_.coordinator, "extractor", 10));
    if (remote.extractors.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "no live extractor is registered with the coordinator at ", options_.coordinator));
    }
  }
  remote.model = ModelRefOf(spec);
  remote.wire_dtype = request.wire_dtype() == pb::DTYPE_BF16 ? pb::DTYPE_BF16 : pb::DTYPE_F32;
  remote.deadline_seconds = options_.extract_deadline_seconds;
  GP_ASSIGN_OR_RETURN(std::unique_ptr<RemoteAttentionSource> source,
                      RemoteAttentionSource::Create(remote));
  return std::unique_ptr<AttentionSource>(std::move(source));
}

void FeaturesService::RunJob(const std::string& id) {
  pb::BuildDatasetRequest request;
  std::atomic<bool>* cancel;
  {
    std::lock_guard<std::mutex> lock(jobs_.mutex());
    JobEntry* entry = jobs_.Find(id);
    // Cancelled between the queue and here: recorded as cancelled, and maybe forgotten since.
    if (entry == nullptr || entry->job.state() == pb::Job::CANCELLED) return;
    request = entry->request;
    cancel = &entry->cancel;
  }
  Update(id, [](pb::Job& job) { job.set_state(pb::Job::RUNNING); });
  LOG(INFO) << "event=job_started id=" << id;
  const auto fail = [&](const absl::Status& status) {
    const bool cancelled = status.code() == absl::StatusCode::kCancelled;
    Update(id, [&](pb::Job& job) {
      // Stopped by a shutdown rather than by a user: queued again, for the next start.
      const bool stopping = jobs_.stopping();
      job.set_state(cancelled ? (stopping ? pb::Job::QUEUED : pb::Job::CANCELLED)
                              : pb::Job::FAILED);
      job.set_error(cancelled && stopping ? "" : std::string(status.message()));
      job.set_error_code(cancelled && stopping ? 0 : static_cast<int>(status.code()));
    });
    LOG(INFO) << "event=job_ended id=" << id << " status=\"" << status.message() << "\"";
  };
  absl::StatusOr<std::vector<DatasetSpec>> specs = DatasetSpecsOf(request);
  if (!specs.ok()) return fail(specs.status());
  absl::StatusOr<std::unique_ptr<AttentionSource>> source = MakeSource(request, (*specs)[0]);
  if (!source.ok()) return fail(source.status());
  const auto* remote = dynamic_cast<const RemoteAttentionSource*>(source->get());
  std::vector<std::string> paths;
  for (const DatasetSpec& spec : *specs) paths.push_back(DatasetPath(ContentKey(spec)));
  DatasetBuildOptions build;
  build.source = source->get();
  build.cancel = cancel;
  static prometheus::Counter& graphs_built = ProcessCounter(
      "graphprobe_features_graphs_total", "Graphs whose features were computed (all modes)");
  static prometheus::Counter& bytes_received = ProcessCounter(
      "graphprobe_features_received_bytes_total", "Attention bytes received from extractors");
  int counted_graphs = -1;
  int64_t counted_bytes = 0;
  build.on_progress = [&](const DatasetProgress& p) {
    if (counted_graphs < 0) counted_graphs = p.resumed_from;
    graphs_built.Increment(std::max(0, p.graphs_done - counted_graphs));
    counted_graphs = std::max(counted_graphs, p.graphs_done);
    const int64_t bytes = remote != nullptr ? remote->BytesReceived() : 0;
    bytes_received.Increment(static_cast<double>(bytes - counted_bytes));
    counted_bytes = bytes;
    Update(id, [&](pb::Job& job) {
      job.set_graphs_done(p.graphs_done);
      job.set_resumed_from(p.resumed_from);
      const double rate = (p.graphs_done - p.resumed_from) / std::max(p.total_seconds, 1e-9);
      job.set_graphs_per_second(rate);
      job.set_eta_seconds(rate > 0 ? (p.graphs_total - p.graphs_done) / rate : -1);
    });
  };
  const absl::Status built = BuildDatasets(*specs, paths, build);
  if (!built.ok()) return fail(built);
  Update(id, [](pb::Job& job) {
    job.set_state(pb::Job::SUCCEEDED);
    job.set_graphs_done(job.graphs_total());
    job.set_eta_seconds(0);
  });
  LOG(INFO) << "event=job_succeeded id=" << id;
}

grpc::Status FeaturesService::BuildDataset(grpc::ServerContext*,
                                           const pb::BuildDatasetRequest* request, pb::Job* job) {
  absl::StatusOr<std::vector<DatasetSpec>> specs = DatasetSpecsOf(*request);
  if (!specs.ok()) return ToGrpcStatus(specs.status());
  const std::string id = JobId(*specs);
  std::lock_guard<std::mutex> lock(jobs_.mutex());
  if (JobEntry* entry = jobs_.Find(id)) {
    // The same settings again: the same job. A failed or cancelled one runs again (resuming),
    // and so does one whose datasets were deleted (by hand, or with another job's files).
    const bool datasets_gone =
        entry->job.state() == pb::Job::SUCCEEDED &&
        std::any_of(entry->job.dataset_keys().begin(), entry->job.dataset_keys().end(),
                    [&](const std::string& key) { return !fs::exists(DatasetPath(key)); });
    if (entry->job.state() == pb::Job::FAILED || entry->job.state() == pb::Job::CANCELLED ||
        datasets_gone) {
      entry->cancel = false;
      entry->job.set_state(pb::Job::QUEUED);
      entry->job.clear_error();
      entry->job.clear_error_code();
      Changed(*entry);  // persisted queued: a restart before it runs still resumes it
      jobs_.Enqueue(id);
    }
    *job = entry->job;
    return grpc::Status::OK;
  }
  if (grpc::Status room = jobs_.CheckRoom(options_.max_queued_jobs); !room.ok()) return room;
  auto entry = std::make_unique<JobEntry>();
  entry->request = *request;
  entry->job.set_id(id);
  entry->job.set_state(pb::Job::QUEUED);
  entry->job.set_graphs_total((*specs)[0].num_graphs);
  entry->job.set_eta_seconds(-1);
  for (const DatasetSpec& spec : *specs) entry->job.add_dataset_keys(ContentKey(spec));
  const absl::Status persisted = Persist(*entry);
  if (!persisted.ok()) return ToGrpcStatus(persisted);
  *job = entry->job;
  jobs_.Insert(id, std::move(entry));
  jobs_.Enqueue(id);
  LOG(INFO) << "event=job_queued id=" << id;
  return grpc::Status::OK;
}

grpc::Status FeaturesService::GetJob(grpc::ServerContext*, const pb::JobRequest* request,
                                     pb::Job* job) {
  return jobs_.Get(request->id(), request->wait_seconds(), job);
}

grpc::Status FeaturesService::WatchJob(grpc::ServerContext* context, const pb::JobRequest* request,
                                       grpc::ServerWriter<pb::Job>* writer) {
  return jobs_.Watch(
      context, request->id(), [](const JobEntry& entry, pb::Job* job) { *job = entry.job; }, writer,
      std::chrono::milliseconds(200));
}

grpc::Status FeaturesService::CancelJob(grpc::ServerContext*, const pb::JobRequest* request,
                                        pb::Job* job) {
  return jobs_.Cancel(request->id(), job, [this](JobEntry& entry) { Changed(entry); });
}

grpc::Status FeaturesService::GetDataset(grpc::ServerContext* context,
                                         const pb::GetDatasetRequest* request,
                                         grpc::ServerWriter<pb::DatasetChunk>* writer) {
  const std::string& key = request->key();
  if (key.size() != 16 || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("key '", key, "': expected 16 hex digits"));
  }
  TouchDataset(DatasetPath(key));  // used now: the last its job's retention forgets
  std::ifstream in(DatasetPath(key), std::ios::binary);
  if (!in) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("dataset '", key, "'"));
  }
  in.seekg(0, std::ios::end);
  const uint64_t total = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  std::string buffer(kMaxChunkBytes, '\0');
  uint64_t offset = 0;
  Sha256 hash;
  do {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    pb::DatasetChunk chunk;
    chunk.set_offset(offset);
    chunk.set_total_bytes(total);
    chunk.set_data(buffer.data(), n);
    hash.Update(std::string_view(buffer.data(), n));
    offset += n;
    if (n == 0 || offset >= total) chunk.set_sha256(hash.HexDigest());
    if (context->IsCancelled() || !writer->Write(chunk)) return grpc::Status::CANCELLED;
    if (n == 0) break;
  } while (offset < total);
  return grpc::Status::OK;
}

}  // namespace gp
