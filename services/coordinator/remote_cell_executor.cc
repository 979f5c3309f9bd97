// Builds on feature services, cells on trainers, by polling their jobs.
#include "services/coordinator/remote_cell_executor.h"

#include <c10/util/Logging.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/rpc/security.h"
#include "common/rpc/status.h"
#include "graphprobe/v1/features.grpc.pb.h"
#include "graphprobe/v1/trainer.grpc.pb.h"
#include "services/features/dataset_request.h"
#include "services/trainer/training_request.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;
using Clock = std::chrono::steady_clock;

// A job's state is one small message: a worker that takes this much longer than the long
// poll's wait to give it is frozen or cut off, and the call is retried (elsewhere, once its
// lease has run out).
constexpr double kPollDeadlineSeconds = 2;

// Channels are shared per address: one connection per worker however many jobs run there.
std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  std::lock_guard<std::mutex> lock(mutex);
  auto& channel = channels[address];
  if (!channel) channel = MakeChannel(address);
  return channel;
}

// What a worker's failure of a call means to the scheduler: gone or slow is worth another try,
// and so is a job the worker no longer knows (forgotten under its retention limits, or lost
// with its disk): submitted again, it runs again. (NotFound from RunCell means a lost dataset.)
absl::Status WorkerStatus(const grpc::Status& status, const std::string& what) {
  absl::Status converted = FromGrpcStatus(status, what);
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::UnavailableError(converted.message());
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::AbortedError(converted.message());
  }
  return converted;
}

}  // namespace

int RemoteCellExecutor::Slots(const std::string& kind) {
  int slots = 0;
  for (const LiveWorker& worker : options_.live_workers(kind)) slots += worker.capacity;
  return slots;
}

absl::StatusOr<std::string> RemoteCellExecutor::Acquire(const std::string& kind) {
  const std::vector<LiveWorker> workers = options_.live_workers(kind);
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  const LiveWorker* best = nullptr;
  double best_load = 0;
  for (const LiveWorker& worker : workers) {
    auto avoided = avoid_until_.find(worker.address);
    if (avoided != avoid_until_.end() && avoided->second > now) continue;
    const double load = static_cast<double>(busy_[worker.address]) / std::max(1, worker.capacity);
    if (best == nullptr || load < best_load) {
      best = &worker;
      best_load = load;
    }
  }
  if (best == nullptr) {
    return absl::UnavailableError(absl::StrCat("no live ", kind, " worker is registered"));
  }
  ++busy_[best->address];
  return best->address;
}

bool RemoteCellExecutor::IsLive(const std::string& kind, const std::string& address) {
  for (const LiveWorker& worker : options_.live_workers(kind)) {
    if (worker.address == address) return true;
  }
  return false;
}

void RemoteCellExecutor::Release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  --busy_[address];
}

void RemoteCellExecutor::Avoid(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  avoid_until_[address] =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options_.avoid_seconds * 1000));
}

absl::StatusOr<std::vector<DatasetHandle>> RemoteCellExecutor::BuildFamily(
    const std::vector<DatasetSpec>& specs, const std::atomic<bool>* cancel) {
  GP_ASSIGN_OR_RETURN(const std::string address, Acquire("features"));
  auto stub = pb::Features::NewStub(ChannelTo(address));
  const std::string what = absl::StrCat("feature service ", address);
  const auto result = [&]() -> absl::StatusOr<std::vector<DatasetHandle>> {
    pb::Job job;
    {
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_deadline_seconds);
      const grpc::Status status = stub->BuildDataset(&context, BuildDatasetRequestOf(specs), &job);
      if (!status.ok()) return WorkerStatus(status, what);
    }
    const std::string task = absl::StrCat("dataset:", ContentKey(specs[0]));
    GP_RETURN_IF_ERROR(
        options_.store->RecordJob(options_.ablation_id, task, address, job.id(), "running"));
    for (;;) {
      if (cancel != nullptr && cancel->load()) {
        grpc::ClientContext context;
        SetDeadline(&context, options_.rpc_deadline_seconds);
        pb::JobRequest request;
        request.set_id(job.id());
        pb::Job ignored;
        stub->CancelJob(&context, request, &ignored);
        return absl::CancelledError("dataset build cancelled");
      }
      if (job.state() == pb::Job::SUCCEEDED) break;
      if (job.state() == pb::Job::FAILED) {
        const auto code = job.error_code() == 0 ? absl::StatusCode::kFailedPrecondition
                                                : static_cast<absl::StatusCode>(job.error_code());
        return absl::Status(code, absl::StrCat(what, ": ", job.error()));
      }
      if (job.state() == pb::Job::CANCELLED) {
        return absl::AbortedError(absl::StrCat(what, ": the job was cancelled"));
      }
      // A long poll: the feature service answers as soon as the job ends, or after a while.
      grpc::ClientContext context;
      SetDeadline(&context, options_.poll_seconds + kPollDeadlineSeconds);
      pb::JobRequest request;
      request.set_id(job.id());
      request.set_wait_seconds(options_.poll_seconds);
      const grpc::Status status = stub->GetJob(&context, request, &job);
      if (!status.ok()) return WorkerStatus(status, what);
    }
    GP_RETURN_IF_ERROR(
        options_.store->RecordJob(options_.ablation_id, task, address, job.id(), "done"));
    std::vector<DatasetHandle> handles;
    for (const std::string& key : job.dataset_keys()) handles.push_back({key, address});
    return handles;
  }();
  Release(address);
  if (!result.ok() && result.status().code() == absl::StatusCode::kUnavailable) Avoid(address);
  return result;
}

absl::StatusOr<CellResult> RemoteCellExecutor::RunCell(const AblationCell& cell,
                                                       const DatasetHandle& dataset,
                                                       const std::atomic<bool>* cancel) {
  GP_ASSIGN_OR_RETURN(const std::string address, Acquire("trainer"));
  auto stub = pb::Trainer::NewStub(ChannelTo(address));
  const std::string what = absl::StrCat("trainer ", address);
  const auto result = [&]() -> absl::StatusOr<CellResult> {
    pb::CreateTrainingJobRequest create;
    create.set_request_id(absl::StrCat(options_.ablation_id, "/", cell.id));
    create.set_dataset_key(dataset.key);
    create.set_features_address(dataset.location);
    *create.mutable_options() = ToProto(cell.training);
    create.set_ablation_id(options_.ablation_id);
    create.set_cell_id(cell.id);
    pb::TrainingJob job;
    {
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_deadline_seconds);
      const grpc::Status status = stub->CreateJob(&context, create, &job);
      if (!status.ok()) return WorkerStatus(status, what);
    }
    GP_RETURN_IF_ERROR(
        options_.store->RecordJob(options_.ablation_id, cell.id, address, job.id(), "running"));
    pb::TrainingJobRequest request;
    request.set_id(job.id());
    auto lease_checked = Clock::now();
    for (;;) {
      if (cancel != nullptr && cancel->load()) {
        grpc::ClientContext context;
        SetDeadline(&context, options_.rpc_deadline_seconds);
        pb::TrainingJob ignored;
        stub->CancelJob(&context, request, &ignored);
        return absl::CancelledError("cell cancelled");
      }
      if (job.state() == pb::TrainingJob::SUCCEEDED) break;
      if (job.state() == pb::TrainingJob::FAILED || job.state() == pb::TrainingJob::CANCELLED) {
        // The trainer's own code: a dataset it could not fetch is worth another try, and one
        // the feature service no longer has (NotFound) is built again by the scheduler.
        const auto code = static_cast<absl::StatusCode>(job.error_code());
        return absl::Status(
            job.state() == pb::TrainingJob::CANCELLED ? absl::StatusCode::kAborted : code,
            absl::StrCat(what, ": ", job.error()));
      }
      // A trainer that stopped heartbeating (frozen, cut off) may still answer GetJob from a
      // half-dead process: its lease decides, checked once a second.
      if (Clock::now() - lease_checked > std::chrono::seconds(1)) {
        lease_checked = Clock::now();
        if (!IsLive("trainer", address)) {
          return absl::UnavailableError(absl::StrCat(what, ": its lease ran out"));
        }
      }
      // A long poll: the trainer answers as soon as the job ends, or after wait_seconds.
      grpc::ClientContext context;
      request.set_wait_seconds(options_.poll_seconds);
      SetDeadline(&context, options_.poll_seconds + kPollDeadlineSeconds);
      const grpc::Status status = stub->GetJob(&context, request, &job);
      if (!status.ok()) return WorkerStatus(status, what);
    }
    pb::TrainingArtifacts artifacts;
    {
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_deadline_seconds);
      pb::ArtifactsRequest wanted;
      wanted.set_id(job.id());
      wanted.set_metrics_only(true);
      const grpc::Status status = stub->GetArtifacts(&context, wanted, &artifacts);
      if (!status.ok()) return WorkerStatus(status, what);
    }
    nlohmann::json merged = DescribeCell(cell).ToJson();
    const nlohmann::json metrics = nlohmann::json::parse(artifacts.metrics_json(), nullptr, false);
    if (!metrics.is_object()) return absl::DataLossError(absl::StrCat(what, ": metrics not JSON"));
    for (const char* key : {"val", "test", "test_interval", "best_epoch", "head_ranking"}) {
      if (!metrics.contains(key)) {
        return absl::DataLossError(absl::StrCat(what, ": metrics without '", key, "'"));
      }
      merged[key] = metrics[key];
    }
    for (const char* key : {"history", "test_samples"}) {  // for the report, where sent
      if (metrics.contains(key)) merged[key] = metrics[key];
    }
    merged["probe_seconds"] = job.seconds();
    return CellResult::FromJson(merged);
  }();
  Release(address);
  if (!result.ok() && result.status().code() == absl::StatusCode::kUnavailable) Avoid(address);
  return result;
}

}  // namespace gp
