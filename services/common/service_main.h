// What every service binary's main shares: the common flags (--listen, --drain-seconds,
// --health-check, --help), answering --health-check, and serving until SIGTERM or SIGINT
// followed by a drain.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/rpc/server.h"
#include "services/cli/flags.h"

namespace gp {

// `own` followed by the common flags; `default_listen` is documented in --listen's help.
std::vector<FlagSpec> WithServiceFlags(std::vector<FlagSpec> own,
                                       const std::string& default_listen);

// With --health-check ADDR: asks ADDR and prints SERVING (OK) or returns why not; true when the
// flag was given (the binary should then exit with `*status`).
bool HandledHealthCheck(const Flags& flags, absl::Status* status);

// Reports SERVING, waits for SIGTERM or SIGINT, then drains: NOT_SERVING, `stop` (the
// service's own cancellation), and a shutdown that lets in-flight calls finish for up to
// --drain-seconds.
absl::Status ServeUntilSignal(const Flags& flags, RunningServer& running,
                              const std::function<void()>& stop);

}  // namespace gp
