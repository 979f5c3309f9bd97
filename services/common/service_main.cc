// The shared service main.
#include "services/common/service_main.h"

#include <c10/util/Logging.h>

#include <chrono>
#include <iostream>

#include "common/core/status.h"

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
  return own;
}

std::vector<FlagSpec> WithWorkerFlags(std::vector<FlagSpec> own,
                                      const std::string& default_listen) {
  own.push_back({"coordinator", true, "host:port of the coordinator to register with"});
  own.push_back({"advertise", true,
                 "host:port others reach this worker at (default: the address it listens on)"});
  return WithServiceFlags(std::move(own), default_listen);
}

std::unique_ptr<WorkerRegistration> RegisterWithCoordinator(const Flags& flags,
                                                            const std::string& kind,
                                                            const std::string& bound_address,
                                                            int capacity) {
  if (!flags.Has("coordinator")) return nullptr;
  RegistrationOptions options;
  options.coordinator = flags.Get("coordinator", "");
  options.kind = kind;
  options.address = flags.Get("advertise", bound_address);
  options.capacity = capacity;
  return std::make_unique<WorkerRegistration>(options);
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(const Flags& flags,
                                                              const std::string& service,
                                                              const std::string& device) {
  RecordBuildInfo(service, device);
  if (!flags.Has("metrics-listen")) return nullptr;
  GP_ASSIGN_OR_RETURN(std::unique_ptr<MetricsEndpoint> endpoint,
                      MetricsEndpoint::Start(flags.Get("metrics-listen", "")));
  std::cout << "metrics on " << endpoint->address() << std::endl;
  LOG(INFO) << "event=metrics_listening address=" << endpoint->address();
  return endpoint;
}

bool HandledHealthCheck(const Flags& flags, absl::Status* status) {
  if (!flags.Has("health-check")) return false;
  *status = CheckHealth(flags.Get("health-check", ""), 5);
  if (status->ok()) std::cout << "SERVING\n";
  return true;
}

absl::Status ServeUntilSignal(const Flags& flags, RunningServer& running,
                              const std::function<void()>& stop) {
  GP_ASSIGN_OR_RETURN(double drain, flags.Double("drain-seconds", 30));
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
