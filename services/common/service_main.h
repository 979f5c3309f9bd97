// What every service binary's main shares: the common flags (--listen, --drain-seconds,
// --health-check, --help), answering --health-check, and serving until SIGTERM or SIGINT
// followed by a drain.
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

// Records graphprobe_build_info for `service` and, with --metrics-listen ADDR, serves GET
// /metrics there and prints "metrics on HOST:PORT" (after the "listening on" line); null
// without the flag.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(const Flags& flags,
                                                              const std::string& service,
                                                              const std::string& device);

// Applies the security flags (services/common/security_flags.h) for serving, or for asking
// with --health-check. Call first.
absl::Status ConfigureServiceSecurity(const Flags& flags);

// With --health-check ADDR: asks ADDR and prints SERVING (OK) or returns why not; true when the
// flag was given (the binary should then exit with `*status`).
bool HandledHealthCheck(const Flags& flags, absl::Status* status);

// Reports SERVING, waits for SIGTERM or SIGINT, then drains: NOT_SERVING, `stop` (the
// service's own cancellation), and a shutdown that lets in-flight calls finish for up to
// --drain-seconds.
absl::Status ServeUntilSignal(const Flags& flags, RunningServer& running,
                              const std::function<void()>& stop);

}  // namespace gp
