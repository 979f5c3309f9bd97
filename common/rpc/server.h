// What every graphprobe service binary shares: a gRPC server with the standard health service
// (NOT_SERVING until the service says it is warm) and reflection, bound to an address whose
// port may be 0 (the kernel picks one; BoundAddress tells which); a client-side health check
// for `--health-check ADDR` (Debian has no grpc_health_probe); and waiting for SIGTERM or
// SIGINT to drain.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace grpc {
class Service;
}

namespace gp {

struct RunningServer {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // host:port actually bound
};

// Binds `listen` (host:port; port 0 picks a free one) with the services, health (NOT_SERVING)
// and reflection. Messages up to `max_message_bytes` are accepted.
absl::StatusOr<RunningServer> StartServer(const std::string& listen,
                                          const std::vector<grpc::Service*>& services,
                                          int max_message_bytes);

// The overall health status ("" service) every probe asks for.
void SetServing(grpc::Server* server, bool serving);

// Asks the health service at `address`: OK when it reports SERVING, else Unavailable with what
// it said (or why it could not be reached within `timeout_seconds`).
absl::Status CheckHealth(const std::string& address, double timeout_seconds);

// Polls CheckHealth until the server reports SERVING or `timeout_seconds` pass (its last
// answer then).
absl::Status WaitForServing(const std::string& address, double timeout_seconds);

// Blocks SIGTERM and SIGINT in this and every thread started after (call first in main), so
// WaitForTerminationSignal can take them synchronously.
void BlockTerminationSignals();
// Returns the signal that arrived (SIGTERM or SIGINT).
int WaitForTerminationSignal();

}  // namespace gp
