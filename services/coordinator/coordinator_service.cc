// Ablations over RPC: creation (idempotent), the scheduler thread of each, watching,
// cancellation, results; worker registration and leases.
#include "services/coordinator/coordinator_service.h"

#include <c10/util/Logging.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ablation/ablation_runner.h"
#include "common/ablation/ablation_scheduler.h"
#include "common/core/hash.h"
#include "common/core/status.h"
#include "common/rpc/metrics.h"
#include "common/rpc/status.h"
#include "common/rpc/watch_stream.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

pb::Ablation::State ToProto(AblationState state) {
  return static_cast<pb::Ablation::State>(static_cast<int>(state));
}

// The spec a request carries, checked as `graphprobe run` checks a spec file; model paths stay
// relative (each extractor resolves them under its --model-root).
absl::StatusOr<AblationSpec> SpecOf(const std::string& spec_json) {
  const nlohmann::json json = nlohmann::json::parse(spec_json, nullptr, false);
  if (json.is_discarded()) return absl::InvalidArgumentError("spec_json: not valid JSON");
  return ParseAblationSpec(json, "spec_json", "");
}

}  // namespace

bool AblationFinished(pb::Ablation::State state) {
  return state == pb::Ablation::SUCCEEDED || state == pb::Ablation::FAILED ||
         state == pb::Ablation::CANCELLED;
}

CoordinatorService::CoordinatorService(CoordinatorOptions options) : options_(std::move(options)) {}

CoordinatorService::~CoordinatorService() { Stop(); }

absl::Status CoordinatorService::Start() {
  GP_ASSIGN_OR_RETURN(store_, CoordinatorStore::Open(options_.state_dir));
  GP_ASSIGN_OR_RETURN(std::vector<StoredAblation> all, store_->ListAblations());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const StoredAblation& stored : all) {
      if (stored.state != AblationState::kRunning) continue;
      LOG(INFO) << "event=ablation_resumed id=" << stored.id << " name=" << stored.name;
      Launch(stored);
    }
  }
  metrics_ = std::make_unique<ScrapeHook>([this] { return CollectMetrics(); });
  return absl::OkStatus();
}

std::vector<prometheus::MetricFamily> CoordinatorService::CollectMetrics() {
  using Values = std::vector<std::pair<std::map<std::string, std::string>, double>>;
  double done = 0, running = 0, failed = 0, pending = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, entry] : active_) {
      const pb::Ablation& a = entry->status;
      done += a.cells_done();
      running += a.cells_running();
      failed += a.cells_failed();
      if (!AblationFinished(a.state())) {
        pending += a.cells_total() - a.cells_done() - a.cells_running() - a.cells_failed();
      }
    }
  }
  std::map<std::string, double> ablations = {
      {"running", 0}, {"succeeded", 0}, {"failed", 0}, {"cancelled", 0}};
  absl::StatusOr<std::vector<StoredAblation>> stored = store_->ListAblations();
  if (stored.ok()) {
    for (const StoredAblation& a : *stored) {
      ++ablations[absl::AsciiStrToLower(pb::Ablation::State_Name(ToProto(a.state)))];
    }
  }
  std::map<std::string, double> workers = {{"extractor", 0}, {"features", 0}, {"trainer", 0}};
  for (const auto& [kind, count] : workers) {
    workers[kind] = static_cast<double>(LiveWorkersOf(kind).size());
  }
  Values cells = {{{{"state", "done"}}, done},
                  {{{"state", "running"}}, running},
                  {{{"state", "failed"}}, failed},
                  {{{"state", "pending"}}, pending}};
  Values ablation_values, worker_values;
  for (const auto& [state, count] : ablations)
    ablation_values.push_back({{{"state", state}}, count});
  for (const auto& [kind, count] : workers) worker_values.push_back({{{"kind", kind}}, count});
  return {GaugeFamily("graphprobe_coordinator_cells",
                      "Cells of the ablations this process runs, by state", cells),
          GaugeFamily("graphprobe_coordinator_ablations", "Ablations by state", ablation_values),
          GaugeFamily("graphprobe_coordinator_workers", "Workers with a live lease, by kind",
                      worker_values)};
}

void CoordinatorService::Stop() {
  metrics_.reset();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, entry] : active_) entry->cancel = true;
    changed_.notify_all();
  }
  // The threads finish on their own (taking mutex_ for their last update); join them unlocked.
  for (auto& [id, entry] : active_) {
    if (entry->thread.joinable()) entry->thread.join();
  }
}

std::vector<LiveWorker> CoordinatorService::LiveWorkersOf(const std::string& kind) {
  absl::StatusOr<std::vector<StoredWorker>> workers = store_->ListWorkers(kind);
  std::vector<LiveWorker> live;
  if (!workers.ok()) {
    LOG(WARNING) << "event=workers_unreadable status=\"" << workers.status().message() << "\"";
    return live;
  }
  const double now = NowUnix();
  for (const StoredWorker& worker : *workers) {
    if (worker.lease_expires_unix >= now) live.push_back({worker.address, worker.capacity});
  }
  return live;
}

void CoordinatorService::Launch(const StoredAblation& stored) {
  absl::StatusOr<AblationSpec> spec = SpecOf(stored.spec_json);
  auto entry = std::make_unique<Active>();
  entry->status.set_id(stored.id);
  entry->status.set_request_id(stored.request_id);
  entry->status.set_name(stored.name);
  entry->status.set_state(pb::Ablation::RUNNING);
  entry->status.set_cells_total(stored.cells_total);
  entry->status.set_created_unix(stored.created_unix);
  entry->status.set_eta_seconds(-1);
  if (!spec.ok()) {
    // A spec this version cannot read any more: the ablation fails rather than the service.
    entry->status.set_state(pb::Ablation::FAILED);
    entry->status.set_error(std::string(spec.status().message()));
    store_->FinishAblation(stored.id, AblationState::kFailed, entry->status.error(), 0)
        .IgnoreError();
    active_[stored.id] = std::move(entry);
    return;
  }
  entry->spec = *spec;
  entry->cells = ExpandAblation(*spec);
  Active* raw = entry.get();
  active_[stored.id] = std::move(entry);
  raw->thread = std::thread([this, id = stored.id] { RunAblation(id); });
}

void CoordinatorService::RunAblation(const std::string& id) {
  Active* entry;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entry = active_.at(id).get();
  }
  SchedulerOptions scheduling;
  scheduling.cancel = &entry->cancel;
  scheduling.max_attempts = options_.max_attempts;
  absl::StatusOr<std::map<std::string, CellResult>> done = store_->CellResults(id);
  absl::StatusOr<std::vector<CellFailure>> failed = store_->CellFailures(id);
  absl::Status status = done.ok() ? failed.status() : done.status();
  if (status.ok()) {
    for (const auto& [cell_id, result] : *done) scheduling.done.insert(cell_id);
    for (const CellFailure& failure : *failed) scheduling.failed.insert(failure.cell_id);
    RemoteExecutorOptions remote = options_.executor;
    remote.ablation_id = id;
    remote.store = store_.get();
    remote.live_workers = [this](const std::string& kind) { return LiveWorkersOf(kind); };
    RemoteCellExecutor executor(remote);
    status = RunCells(
        entry->cells, executor, scheduling,
        [&](const CellResult& result) {
          absl::StatusOr<bool> recorded = store_->RecordCell(id, result);
          if (recorded.ok() && !*recorded) {
            LOG(WARNING) << "event=duplicate_result_dropped ablation=" << id
                         << " cell=" << result.cell_id;
          }
          return recorded.status();
        },
        [&](const AblationCell& cell, const absl::Status& why) {
          LOG(WARNING) << "event=cell_failed ablation=" << id << " cell=" << cell.id << " status=\""
                       << why.message() << "\"";
          return store_->RecordCellFailure(id, cell.id, std::string(why.message())).status();
        },
        [&](const AblationProgress& p) {
          std::lock_guard<std::mutex> lock(mutex_);
          pb::Ablation& s = entry->status;
          s.set_cells_done(p.cells_done);
          s.set_cells_running(p.cells_running);
          s.set_cells_failed(p.cells_failed);
          s.set_datasets_total(p.datasets_total);
          s.set_datasets_done(p.datasets_done);
          s.set_elapsed_seconds(p.elapsed_seconds);
          s.set_eta_seconds(p.eta_seconds);
          ++entry->version;
          changed_.notify_all();
        });
  }
  std::lock_guard<std::mutex> lock(mutex_);
  pb::Ablation& s = entry->status;
  s.set_cells_running(0);
  if (status.code() == absl::StatusCode::kCancelled && !entry->cancelled_by_user) {
    // The service is stopping: the ablation stays running in the state, for the next start.
    LOG(INFO) << "event=ablation_suspended id=" << id;
    return;
  }
  AblationState state = AblationState::kSucceeded;
  if (entry->cancelled_by_user) {
    state = AblationState::kCancelled;
    s.set_error("cancelled");
  } else if (!status.ok()) {
    state = AblationState::kFailed;
    s.set_error(std::string(status.message()));
  } else if (s.cells_failed() > 0) {
    state = AblationState::kFailed;
    absl::StatusOr<std::vector<CellFailure>> failures = store_->CellFailures(id);
    s.set_error(absl::StrCat(
        s.cells_failed(), " cell(s) failed",
        failures.ok() && !failures->empty()
            ? absl::StrCat("; first: ", (*failures)[0].cell_id, ": ", (*failures)[0].error)
            : ""));
  }
  s.set_state(ToProto(state));
  s.set_eta_seconds(0);
  const absl::Status saved = store_->FinishAblation(id, state, s.error(), s.elapsed_seconds());
  if (!saved.ok()) LOG(WARNING) << "event=ablation_state_not_saved id=" << id << " " << saved;
  ++entry->version;
  changed_.notify_all();
  LOG(INFO) << "event=ablation_finished id=" << id
            << " state=" << pb::Ablation::State_Name(s.state()) << " cells_done=" << s.cells_done()
            << " cells_failed=" << s.cells_failed();
}

absl::StatusOr<pb::Ablation> CoordinatorService::Describe(const std::string& id) {
  GP_ASSIGN_OR_RETURN(pb::Ablation a, DescribeState(id));
  std::lock_guard<std::mutex> lock(mutex_);
  AddReportUrl(&a);
  return a;
}

void CoordinatorService::AddReportUrl(pb::Ablation* ablation) const {
  if (report_url_base_.empty()) return;
  ablation->set_report_url(
      absl::StrCat(report_url_base_, "/ablations/", ablation->id(), "/report"));
}

void CoordinatorService::SetReportUrlBase(const std::string& base) {
  std::lock_guard<std::mutex> lock(mutex_);
  report_url_base_ = base;
}

absl::StatusOr<pb::Ablation> CoordinatorService::DescribeState(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(id);
    if (it != active_.end()) return it->second->status;
  }
  GP_ASSIGN_OR_RETURN(std::optional<StoredAblation> stored, store_->GetAblation(id));
  if (!stored) return absl::NotFoundError(absl::StrCat("ablation '", id, "'"));
  GP_ASSIGN_OR_RETURN(auto done, store_->CellResults(id));
  GP_ASSIGN_OR_RETURN(auto failed, store_->CellFailures(id));
  pb::Ablation a;
  a.set_id(stored->id);
  a.set_request_id(stored->request_id);
  a.set_name(stored->name);
  a.set_state(ToProto(stored->state));
  a.set_cells_total(stored->cells_total);
  a.set_cells_done(static_cast<int>(done.size()));
  a.set_cells_failed(static_cast<int>(failed.size()));
  a.set_elapsed_seconds(stored->elapsed_seconds);
  a.set_eta_seconds(AblationFinished(a.state()) ? 0 : -1);
  a.set_error(stored->error);
  a.set_created_unix(stored->created_unix);
  return a;
}

grpc::Status CoordinatorService::CreateAblation(grpc::ServerContext*,
                                                const pb::CreateAblationRequest* request,
                                                pb::Ablation* ablation) {
  absl::StatusOr<AblationSpec> spec = SpecOf(request->spec_json());
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  const std::string canonical = spec->ToJson().dump();
  StoredAblation stored;
  stored.request_id = request->request_id().empty()
                          ? absl::StrFormat("spec-%016x", Fnv1a64(canonical))
                          : request->request_id();
  stored.id = absl::StrFormat("%016x", Fnv1a64(stored.request_id));
  stored.name = spec->name;
  stored.spec_json = canonical;
  stored.cells_total = static_cast<int>(ExpandAblation(*spec).size());
  stored.created_unix = static_cast<int64_t>(NowUnix());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
    }
  }
  absl::StatusOr<std::pair<StoredAblation, bool>> created = store_->CreateAblation(stored);
  if (!created.ok()) return ToGrpcStatus(created.status());
  const StoredAblation& now = created->first;
  if (!created->second && now.spec_json != canonical) {
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                        absl::StrCat("request_id '", now.request_id, "' names ablation ", now.id,
                                     " of another spec"));
  }
  StoredAblation launch = now;
  bool relaunch = false;
  if (!created->second &&
      (now.state == AblationState::kFailed || now.state == AblationState::kCancelled)) {
    // Submitted again after it failed or was cancelled: it runs again from what it recorded.
    std::unique_ptr<Active> finished;
    relaunch = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = active_.find(now.id);
      if (it != active_.end() && !AblationFinished(it->second->status.state())) {
        relaunch = false;  // a concurrent resubmission reopened it already
      } else if (it != active_.end()) {
        finished = std::move(it->second);
        active_.erase(it);
      }
    }
    // Its scheduler thread may still be stopping its jobs; it takes mutex_ on the way out.
    if (finished && finished->thread.joinable()) finished->thread.join();
    if (relaunch) {
      const absl::Status reopened = store_->ReopenAblation(now.id);
      if (!reopened.ok()) return ToGrpcStatus(reopened);
      launch.state = AblationState::kRunning;
      LOG(INFO) << "event=ablation_reopened id=" << now.id;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      // Stored: the next start runs it.
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down");
    }
    if (created->second) {
      LOG(INFO) << "event=ablation_created id=" << now.id << " name=" << now.name
                << " cells=" << now.cells_total << " request_id=" << now.request_id;
    }
    if ((created->second || relaunch) && !active_.count(now.id)) Launch(launch);
    auto it = active_.find(now.id);
    if (it != active_.end()) {
      *ablation = it->second->status;
      return grpc::Status::OK;
    }
  }
  absl::StatusOr<pb::Ablation> described = Describe(now.id);
  if (!described.ok()) return ToGrpcStatus(described.status());
  *ablation = *described;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetAblation(grpc::ServerContext*,
                                             const pb::AblationRequest* request,
                                             pb::Ablation* ablation) {
  absl::StatusOr<pb::Ablation> described = Describe(request->id());
  if (!described.ok()) return ToGrpcStatus(described.status());
  *ablation = *described;
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListAblations(grpc::ServerContext*,
                                               const pb::ListAblationsRequest* request,
                                               pb::ListAblationsResponse* response) {
  absl::StatusOr<std::vector<StoredAblation>> all = store_->ListAblations();
  if (!all.ok()) return ToGrpcStatus(all.status());
  for (const StoredAblation& stored : *all) {
    absl::StatusOr<pb::Ablation> described = Describe(stored.id);
    if (!described.ok()) return ToGrpcStatus(described.status());
    if (request->state() != pb::Ablation::STATE_UNSPECIFIED &&
        described->state() != request->state()) {
      continue;
    }
    *response->add_ablations() = *described;
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::WatchAblation(grpc::ServerContext* context,
                                               const pb::AblationRequest* request,
                                               grpc::ServerWriter<pb::Ablation>* writer) {
  bool active;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    active = active_.count(request->id()) > 0;
  }
  if (!active) {
    // Not run by this process (finished before it started): its stored state, once.
    absl::StatusOr<pb::Ablation> described = Describe(request->id());
    if (!described.ok()) return ToGrpcStatus(described.status());
    writer->Write(*described);
    return grpc::Status::OK;
  }
  return StreamChanges<pb::Ablation>(
      context, mutex_, changed_,
      [&](int* version, pb::Ablation* ablation) {
        auto it = active_.find(request->id());
        if (it == active_.end()) {
          // Submitted again meanwhile: the client watches the new run from the start.
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the ablation was restarted");
        }
        *version = it->second->version;
        *ablation = it->second->status;
        AddReportUrl(ablation);
        return grpc::Status::OK;
      },
      [&] { return stopping_; }, [](const pb::Ablation& a) { return AblationFinished(a.state()); },
      writer, {std::chrono::milliseconds(200), "the coordinator is shutting down"});
}

grpc::Status CoordinatorService::CancelAblation(grpc::ServerContext*,
                                                const pb::AblationRequest* request,
                                                pb::Ablation* ablation) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(request->id());
    if (it != active_.end() && !AblationFinished(it->second->status.state())) {
      Active& entry = *it->second;
      entry.cancelled_by_user = true;
      entry.cancel = true;
      // Kept at once: a coordinator that dies before the scheduler stops does not resume it.
      store_
          ->FinishAblation(request->id(), AblationState::kCancelled, "cancelled",
                           entry.status.elapsed_seconds())
          .IgnoreError();
      LOG(INFO) << "event=ablation_cancelled id=" << request->id();
      *ablation = entry.status;
      return grpc::Status::OK;
    }
  }
  return GetAblation(nullptr, request, ablation);
}

absl::StatusOr<AblationResultFiles> CoordinatorService::ResultFilesOf(const std::string& id) {
  AblationResultFiles out;
  GP_ASSIGN_OR_RETURN(out.ablation, Describe(id));
  GP_ASSIGN_OR_RETURN(std::optional<StoredAblation> stored, store_->GetAblation(id));
  if (!stored) return absl::NotFoundError(absl::StrCat("ablation '", id, "'"));
  GP_ASSIGN_OR_RETURN(AblationSpec spec, SpecOf(stored->spec_json));
  GP_ASSIGN_OR_RETURN(auto done, store_->CellResults(id));
  std::vector<CellResult> ordered;  // grid order, as `graphprobe run` writes them
  for (const AblationCell& cell : ExpandAblation(spec)) {
    auto it = done.find(cell.id);
    if (it != done.end()) ordered.push_back(it->second);
  }
  out.files = ResultFiles(spec, ordered);
  return out;
}

grpc::Status CoordinatorService::GetResults(grpc::ServerContext*,
                                            const pb::AblationRequest* request,
                                            pb::AblationResults* results) {
  absl::StatusOr<AblationResultFiles> found = ResultFilesOf(request->id());
  if (!found.ok()) return ToGrpcStatus(found.status());
  *results->mutable_ablation() = found->ablation;
  for (auto& [name, content] : found->files) {
    pb::ResultFile* file = results->add_files();
    file->set_name(name);
    file->set_content(std::move(content));
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Register(grpc::ServerContext*, const pb::RegisterRequest* request,
                                          pb::Lease* lease) {
  if (request->kind() != "extractor" && request->kind() != "features" &&
      request->kind() != "trainer") {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("kind '", request->kind(), "': expected extractor, features or trainer"));
  }
  if (request->address().empty() || request->address().find(':') == std::string::npos) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("address '", request->address(), "': expected host:port"));
  }
  absl::StatusOr<StoredWorker> worker =
      store_->RegisterWorker(request->kind(), request->address(), std::max(1, request->capacity()),
                             NowUnix() + options_.lease_seconds);
  if (!worker.ok()) return ToGrpcStatus(worker.status());
  LOG(INFO) << "event=worker_registered id=" << worker->id << " kind=" << worker->kind
            << " address=" << worker->address << " capacity=" << worker->capacity;
  lease->set_worker_id(worker->id);
  lease->set_lease_seconds(options_.lease_seconds);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext*,
                                           const pb::HeartbeatRequest* request, pb::Lease* lease) {
  const double now = NowUnix();
  absl::StatusOr<bool> renewed =
      store_->RenewLease(request->worker_id(), now, now + options_.lease_seconds);
  if (!renewed.ok()) return ToGrpcStatus(renewed.status());
  if (!*renewed) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("worker '", request->worker_id(),
                                     "' is not registered or its lease ran out: register again"));
  }
  lease->set_worker_id(request->worker_id());
  lease->set_lease_seconds(options_.lease_seconds);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::ListWorkers(grpc::ServerContext*,
                                             const pb::ListWorkersRequest* request,
                                             pb::ListWorkersResponse* response) {
  absl::StatusOr<std::vector<StoredWorker>> workers = store_->ListWorkers(request->kind());
  if (!workers.ok()) return ToGrpcStatus(workers.status());
  const double now = NowUnix();
  for (const StoredWorker& stored : *workers) {
    pb::Worker* worker = response->add_workers();
    worker->set_id(stored.id);
    worker->set_kind(stored.kind);
    worker->set_address(stored.address);
    worker->set_capacity(stored.capacity);
    worker->set_alive(stored.lease_expires_unix >= now);
    worker->set_lease_left_seconds(std::max(0.0, stored.lease_expires_unix - now));
  }
  return grpc::Status::OK;
}

}  // namespace gp
