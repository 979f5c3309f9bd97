// What every service binary's main shares: the common flags (--listen, --drain-seconds,
// --health-check, --help), answering --health-check, and serving until SIGTERM or SIGINT
// followed by a drain.
//
//   constexpr char kListen[] = "127.0.0.1:50053";
//   absl::Status Serve(const Flags& flags) {
//     ... options from flags, service.Start() ...
//     GP_ASSIGN_OR_RETURN(ServiceEndpoints endpoints,
//                         StartServing(flags, kListen, &service, 64 << 20, "trainer", "cpu"));
//     const auto registration = RegisterWithCoordinator(flags, "trainer", ..., capacity);
//     return ServeUntilSignal(flags, endpoints.server, [&] { service.Stop(); });
//   }
//   int main(int argc, char** argv) {
//     return gp::ServiceMain(argc, argv, {"trainer", usage, kFlags, "GRAPHPROBE_TRAINER_"}, Serve);
//   }
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/rpc/metrics.h"
#include "common/rpc/server.h"
#include "common/rpc/worker_registration.h"
#include "services/cli/flags.h"

namespace gp {

// A service binary: its name in error messages, --help's usage line, its flags
// (WithServiceFlags or WithWorkerFlags) and the prefix of the environment variables that may
// set them (GRAPHPROBE_TRAINER_MAX_JOBS=4 for --max-jobs 4).
struct ServiceBinary {
  std::string name;
  std::string usage;
  std::vector<FlagSpec> flags;
  std::string env_prefix;
};

// A service binary's main: tunes the allocator, blocks the termination signals before any
// thread starts (every thread inherits that; ServeUntilSignal takes them with sigwait), parses
// the flags, configures the transport security, answers --health-check, else runs `serve`.
// Returns the exit code (2 for bad flags, as every subcommand).
int ServiceMain(int argc, char** argv, const ServiceBinary& binary,
                const std::function<absl::Status(const Flags&)>& serve);

// `own` followed by the common flags; `default_listen` is documented in --listen's help.
std::vector<FlagSpec> WithServiceFlags(std::vector<FlagSpec> own,
                                       const std::string& default_listen);

// WithServiceFlags plus the flags of a worker of the coordinator: --coordinator ADDR (register
// there and keep a lease) and --advertise ADDR (the address others reach this worker at).
std::vector<FlagSpec> WithWorkerFlags(std::vector<FlagSpec> own, const std::string& default_listen);

// With --coordinator: registers this worker (at --advertise; default the bound address, a
// wildcard host such as 0.0.0.0 replaced by what this host's name resolves to: a container's
// own address) and keeps its lease until the returned object is destroyed; null without
// --coordinator.
std::unique_ptr<WorkerRegistration> RegisterWithCoordinator(const Flags& flags,
                                                            const std::string& kind,
                                                            const std::string& bound_address,
                                                            int capacity);

// --max-jobs (jobs running at once): 1..1024, `fallback` when the flag is absent.
absl::StatusOr<int> MaxJobsFlag(const Flags& flags, int fallback);

// The retention limits of a worker that keeps finished jobs and datasets on disk:
// --keep-finished-jobs (16..100000000: a client reads a job's results after it ends, so a few
// must outlive the jobs ending meanwhile) and --max-dataset-gb (GiB, 0..1000000) as bytes.
absl::StatusOr<int> KeepFinishedJobsFlag(const Flags& flags, int fallback);
absl::StatusOr<int64_t> MaxDatasetBytesFlag(const Flags& flags, int64_t fallback);

// Their --help lines; `datasets` says which datasets the budget is for.
FlagSpec KeepFinishedJobsFlagSpec(const std::string& artifacts);
FlagSpec MaxDatasetGbFlagSpec(const std::string& datasets, int default_gb);

// What a serving binary keeps alive until it exits.
struct ServiceEndpoints {
  RunningServer server;
  std::unique_ptr<MetricsEndpoint> metrics;  // null without --metrics-listen
};

// Binds `service` (messages up to `max_message_bytes`) on --listen, default `default_listen`,
// and prints "listening on HOST:PORT" on its own line (scripts and tests read it when the port
// was 0). Then records graphprobe_build_info for `name` and `device` and, with
// --metrics-listen ADDR, serves GET /metrics there and prints "metrics on HOST:PORT".
absl::StatusOr<ServiceEndpoints> StartServing(const Flags& flags, const std::string& default_listen,
                                              grpc::Service* service, int max_message_bytes,
                                              const std::string& name, const std::string& device);

// Reports SERVING, waits for SIGTERM or SIGINT, then drains: NOT_SERVING, `stop` (the
// service's own cancellation), and a shutdown that lets in-flight calls finish for up to
// --drain-seconds.
absl::Status ServeUntilSignal(const Flags& flags, RunningServer& running,
                              const std::function<void()>& stop);

}  // namespace gp
