// Register, heartbeat, register again.
#include "common/rpc/worker_registration.h"

#include <c10/util/Logging.h>
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/rpc/security.h"
#include "common/rpc/status.h"
#include "graphprobe/v1/coordinator.grpc.pb.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

}  // namespace

WorkerRegistration::WorkerRegistration(RegistrationOptions options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

WorkerRegistration::~WorkerRegistration() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

absl::Status WorkerRegistration::WaitRegistered(double timeout_seconds) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (changed_.wait_for(lock,
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)),
                        [&] { return registered_; })) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("not registered with the coordinator at ",
                                             options_.coordinator, " within ", timeout_seconds,
                                             " s"));
}

void WorkerRegistration::Run() {
  auto stub = pb::Coordinator::NewStub(MakeChannel(options_.coordinator));
  std::string worker_id;
  double wait_seconds = 0;
  bool warned = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(wait_seconds * 1000)),
                        [&] { return stopping_; });
      if (stopping_) return;
    }
    grpc::ClientContext context;
    SetDeadline(&context, 5);
    pb::Lease lease;
    grpc::Status status;
    if (worker_id.empty()) {
      pb::RegisterRequest request;
      request.set_kind(options_.kind);
      request.set_address(options_.address);
      request.set_capacity(options_.capacity);
      status = stub->Register(&context, request, &lease);
      if (status.ok()) {
        worker_id = lease.worker_id();
        LOG(INFO) << "event=registered coordinator=" << options_.coordinator
                  << " worker=" << worker_id << " kind=" << options_.kind
                  << " address=" << options_.address;
        std::lock_guard<std::mutex> lock(mutex_);
        registered_ = true;
        changed_.notify_all();
      }
    } else {
      pb::HeartbeatRequest request;
      request.set_worker_id(worker_id);
      status = stub->Heartbeat(&context, request, &lease);
      // The coordinator forgot this worker (its lease ran out, or its state is new): again.
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) worker_id.clear();
    }
    if (status.ok()) {
      warned = false;
      wait_seconds = std::max(0.05, lease.lease_seconds() / 3);
    } else {
      if (!warned) {
        LOG(WARNING) << "event=coordinator_unreachable coordinator=" << options_.coordinator
                     << " status=\"" << status.error_message() << "\"";
        warned = true;
      }
      wait_seconds = worker_id.empty() ? 1 : 0.2;
    }
  }
}

absl::StatusOr<std::vector<std::string>> LiveWorkers(const std::string& coordinator,
                                                     const std::string& kind,
                                                     double timeout_seconds) {
  auto stub = pb::Coordinator::NewStub(MakeChannel(coordinator));
  grpc::ClientContext context;
  SetDeadline(&context, timeout_seconds);
  pb::ListWorkersRequest request;
  request.set_kind(kind);
  pb::ListWorkersResponse response;
  const grpc::Status status = stub->ListWorkers(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, absl::StrCat("coordinator ", coordinator));
  std::vector<std::string> addresses;
  for (const pb::Worker& worker : response.workers()) {
    if (worker.alive()) addresses.push_back(worker.address());
  }
  return addresses;
}

}  // namespace gp
