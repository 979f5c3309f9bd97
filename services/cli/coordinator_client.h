// What the commands that talk to a coordinator share: the stub, watching an ablation with a
// progress line, and writing its result files.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "graphprobe/v1/coordinator.grpc.pb.h"

namespace gp {

std::unique_ptr<graphprobe::v1::Coordinator::Stub> CoordinatorStub(const std::string& address);

// The deadline of every one-shot coordinator call (create, get, list, cancel): a coordinator
// that hangs is an error after it, not a command that never returns.
constexpr double kCoordinatorCallSeconds = 30;

// "1m02s", "2h05m"; "?" for a negative (unknown) time.
std::string FormatDuration(double seconds);

// "cells 12/600 (1 running, 0 failed), datasets 3/48, elapsed 1m02s, ETA 10m00s"
std::string ProgressLine(const graphprobe::v1::Ablation& ablation);

// Follows the ablation until it ends, printing a progress line at each change (rewritten in
// place on a terminal); reconnects while the coordinator restarts. The final state.
absl::StatusOr<graphprobe::v1::Ablation> WatchAblation(graphprobe::v1::Coordinator::Stub& stub,
                                                       const std::string& id, std::ostream& out);

// OK for a succeeded ablation; FailedPrecondition (failed) or Cancelled with its error.
absl::Status AblationOutcome(const graphprobe::v1::Ablation& ablation);

// Fetches the result files into `out_dir`; their names.
absl::StatusOr<std::vector<std::string>> DownloadResults(graphprobe::v1::Coordinator::Stub& stub,
                                                         const std::string& id,
                                                         const std::string& out_dir);

}  // namespace gp
