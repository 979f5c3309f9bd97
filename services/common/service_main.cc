// The shared service main.
#include "services/common/service_main.h"

#include <arpa/inet.h>
#include <c10/util/Logging.h>
#include <netdb.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/core/allocator_tuning.h"
#include "common/core/status.h"
#include "common/rpc/dial_target.h"
#include "services/common/security_flags.h"

namespace gp {

std::vector<FlagSpec> WithServiceFlags(std::vector<FlagSpec> own,
                                       const std::string& default_listen) {
  own.push_back(
      {"listen", true, "host:port to serve on (default " + default_listen + "; port 0 picks one)"});
  own.push_back(
      {"drain-seconds", true, "on SIGTERM, how long in-flight calls may finish (default 30)"});
  own.push_back(
      {"health-check", true, "ask the server at ADDR for its health and exit 0 if SERVING"});
  own.push_back({"metrics-listen", true,
                 "host:port to serve Prometheus metrics on (GET /metrics; port 0 picks one)"});
  own.push_back({"help", false, "show this help"});
  return WithSecurityFlags(std::move(own));
}

std::vector<FlagSpec> WithWorkerFlags(std::vector<FlagSpec> own,
                                      const std::string& default_listen) {
  own.push_back({"coordinator", true, "host:port of the coordinator to register with"});
  own.push_back({"advertise", true,
                 "host:port others reach this worker at (default: the address it listens on)"});
  return WithServiceFlags(std::move(own), default_listen);
}

namespace {

// An address others can reach this host at, for a worker listening on every interface: what
// its host name resolves to (a container's or pod's own address), else "".
std::string HostAddress() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name, nullptr, &hints, &found) != 0) return "";
  std::string address;
  for (addrinfo* a = found; a != nullptr && address.empty(); a = a->ai_next) {
    char text[INET_ADDRSTRLEN] = {};
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) address = text;
  }
  freeaddrinfo(found);
  return address;
}

// The address to register: --advertise, else the bound one, with a wildcard host replaced by
// this host's address.
std::string AdvertisedAddress(const Flags& flags, const std::string& bound) {
  if (flags.Has("advertise")) return flags.Get("advertise", "");
  const size_t colon = bound.rfind(':');
  const std::string host = bound.substr(0, colon);
  if (host != "0.0.0.0" && host != "[::]" && host != "::") return bound;
  const std::string own = HostAddress();
  return own.empty() ? bound : own + bound.substr(colon);
}

// --drain-seconds, checked before anything starts: read when serving began, a bad value was
// found only after a model was preloaded and the port taken; a huge one overflowed the deadline.
absl::StatusOr<double> DrainSecondsFlag(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(const double drain, flags.Double("drain-seconds", 30));
  if (!(drain >= 0 && drain <= 86400)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--drain-seconds ", drain, ": expected 0..86400"));
  }
  return drain;
}

}  // namespace

std::unique_ptr<WorkerRegistration> RegisterWithCoordinator(const Flags& flags,
                                                            const std::string& kind,
                                                            const std::string& bound_address,
                                                            int capacity) {
  if (!flags.Has("coordinator")) return nullptr;
  RegistrationOptions options;
  options.coordinator = flags.Get("coordinator", "");
  options.kind = kind;
  options.address = AdvertisedAddress(flags, bound_address);
  options.capacity = capacity;
  return std::make_unique<WorkerRegistration>(options);
}

absl::StatusOr<int> MaxJobsFlag(const Flags& flags, int fallback) {
  GP_ASSIGN_OR_RETURN(const int64_t max_jobs, flags.IntIn("max-jobs", fallback, 1, 1024));
  return static_cast<int>(max_jobs);
}

absl::StatusOr<int> KeepFinishedJobsFlag(const Flags& flags, int fallback) {
  GP_ASSIGN_OR_RETURN(const int64_t keep,
                      flags.IntIn("keep-finished-jobs", fallback, 16, 100000000));
  return static_cast<int>(keep);
}

absl::StatusOr<int64_t> MaxDatasetBytesFlag(const Flags& flags, int64_t fallback) {
  constexpr double kGiB = int64_t{1} << 30;
  GP_ASSIGN_OR_RETURN(const double gb, flags.Double("max-dataset-gb", fallback / kGiB));
  if (!(gb >= 0 && gb <= 1e6)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-dataset-gb ", gb, ": expected 0..1000000"));
  }
  return static_cast<int64_t>(gb * kGiB);
}

FlagSpec KeepFinishedJobsFlagSpec(const std::string& artifacts) {
  return {"keep-finished-jobs", true,
          absl::StrCat("finished jobs kept, with ", artifacts,
                       "; the least recently used beyond are forgotten (default 10000)")};
}

FlagSpec MaxDatasetGbFlagSpec(const std::string& datasets, int default_gb) {
  return {
      "max-dataset-gb", true,
      absl::StrCat(datasets, " kept, in GiB; beyond, the least recently used are deleted (default ",
                   default_gb, ")")};
}

absl::StatusOr<ServiceEndpoints> StartServing(const Flags& flags, const std::string& default_listen,
                                              grpc::Service* service, int max_message_bytes,
                                              const std::string& name, const std::string& device) {
  ServiceEndpoints endpoints;
  GP_ASSIGN_OR_RETURN(endpoints.server, StartServer(flags.Get("listen", default_listen), {service},
                                                    max_message_bytes));
  std::cout << "listening on " << endpoints.server.address << std::endl;
  RecordBuildInfo(name, device);
  if (flags.Has("metrics-listen")) {
    GP_ASSIGN_OR_RETURN(endpoints.metrics, MetricsEndpoint::Start(flags.Get("metrics-listen", "")));
    std::cout << "metrics on " << endpoints.metrics->address() << std::endl;
    LOG(INFO) << "event=metrics_listening address=" << endpoints.metrics->address();
  }
  return endpoints;
}

int ServiceMain(int argc, char** argv, const ServiceBinary& binary,
                const std::function<absl::Status(const Flags&)>& serve) {
  TuneAllocatorForTensors();
  // The services' events (event=serving, draining, each job) are INFO lines. A libtorch whose
  // logging is glog's (Debian 12's 1.13) writes them to stderr as it stands; c10's own logging
  // (PyTorch's builds, Debian 13's 2.6, a GPU node's image) drops everything below WARNING
  // unless told otherwise.
  c10::ShowLogInfoToStderr();
  BlockTerminationSignals();
  const std::vector<std::string> args(argv + 1, argv + argc);
  return RunSubcommand(
      binary.name, binary.usage, binary.flags, args, std::cout,
      [&](const Flags& flags) -> absl::Status {
        // Serving needs the server's credentials; asking for health, a client's.
        const bool health_check = flags.Has("health-check");
        GP_RETURN_IF_ERROR(ConfigureSecurityFromFlags(flags, /*serves=*/!health_check));
        if (health_check) {
          const std::string server = flags.Get("health-check", "");
          GP_RETURN_IF_ERROR(CheckDialTarget("--health-check", server));
          GP_RETURN_IF_ERROR(CheckHealth(server, 5));
          std::cout << "SERVING\n";
          return absl::OkStatus();
        }
        GP_RETURN_IF_ERROR(DrainSecondsFlag(flags).status());
        // Addresses others dial: a typo is refused here, not retried against for ever.
        for (const char* flag : {"coordinator", "advertise"}) {
          if (flags.Has(flag)) {
            GP_RETURN_IF_ERROR(CheckDialTarget(absl::StrCat("--", flag), flags.Get(flag, "")));
          }
        }
        return serve(flags);
      },
      {}, binary.env_prefix);
}

absl::Status ServeUntilSignal(const Flags& flags, RunningServer& running,
                              const std::function<void()>& stop) {
  GP_ASSIGN_OR_RETURN(const double drain, DrainSecondsFlag(flags));
  SetServing(running.server.get(), true);
  LOG(INFO) << "event=serving address=" << running.address;
  const int signal = WaitForTerminationSignal();
  LOG(INFO) << "event=draining signal=" << signal << " deadline_seconds=" << drain;
  SetServing(running.server.get(), false);
  stop();
  running.server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(static_cast<int64_t>(drain * 1000)));
  LOG(INFO) << "event=stopped";
  return absl::OkStatus();
}

}  // namespace gp
