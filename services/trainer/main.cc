// graphprobe-trainer: serves the Trainer RPC (and gRPC health and reflection): probe training
// jobs on datasets fetched from feature services, --max-jobs at a time, under --work. Flags
// also come from GRAPHPROBE_TRAINER_* environment variables. SIGTERM drains: NOT_SERVING,
// running jobs stop within an epoch (the coordinator gives them to a trainer again).
#include <c10/util/Logging.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/core/allocator_tuning.h"
#include "common/core/status.h"
#include "services/common/service_main.h"
#include "services/trainer/trainer_service.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kFlags = WithWorkerFlags(
    {
        {"work", true, "directory of fetched datasets and job artifacts (required)"},
        {"max-jobs", true, "jobs training at once (default 2)"},
    },
    "127.0.0.1:50053");

absl::Status Serve(const Flags& flags) {
  GP_RETURN_IF_ERROR(ConfigureServiceSecurity(flags));
  absl::Status health;
  if (HandledHealthCheck(flags, &health)) return health;
  TrainerOptions options;
  GP_ASSIGN_OR_RETURN(options.work_dir, flags.Required("work"));
  GP_ASSIGN_OR_RETURN(int64_t max_jobs, flags.Int("max-jobs", options.max_jobs));
  if (max_jobs < 1 || max_jobs > 1024) {
    return absl::InvalidArgumentError(absl::StrCat("--max-jobs ", max_jobs, ": expected 1..1024"));
  }
  options.max_jobs = static_cast<int>(max_jobs);

  TrainerService service(options);
  GP_RETURN_IF_ERROR(service.Start());
  GP_ASSIGN_OR_RETURN(RunningServer running,
                      StartServer(flags.Get("listen", "127.0.0.1:50053"), {&service}, 64 << 20));
  std::cout << "listening on " << running.address << std::endl;
  GP_ASSIGN_OR_RETURN(const std::unique_ptr<MetricsEndpoint> metrics,
                      StartMetrics(flags, "trainer", "cpu"));
  LOG(INFO) << "event=listening address=" << running.address << " work=" << options.work_dir
            << " max_jobs=" << options.max_jobs;
  const auto registration =
      RegisterWithCoordinator(flags, "trainer", running.address, options.max_jobs);
  return ServeUntilSignal(flags, running, [&] { service.Stop(); });
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  gp::BlockTerminationSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  return gp::RunSubcommand("trainer",
                           "graphprobe-trainer --work DIR [--coordinator ADDR] [--listen ADDR]",
                           gp::kFlags, args, std::cout, gp::Serve, {}, "GRAPHPROBE_TRAINER_");
}
