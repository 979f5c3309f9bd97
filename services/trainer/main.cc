// graphprobe-trainer: serves the Trainer RPC (and gRPC health and reflection): probe training
// jobs on datasets fetched from feature services, --max-jobs at a time, under --work. Flags
// also come from GRAPHPROBE_TRAINER_* environment variables. SIGTERM drains: NOT_SERVING,
// running jobs stop within an epoch (the coordinator gives them to a trainer again).
#include <c10/util/Logging.h>

#include "common/core/status.h"
#include "services/common/service_main.h"
#include "services/trainer/trainer_service.h"

namespace gp {
namespace {

constexpr char kListen[] = "127.0.0.1:50053";
const std::vector<FlagSpec> kFlags = WithWorkerFlags(
    {
        {"work", true, "directory of fetched datasets and job artifacts (required)"},
        {"max-jobs", true, "jobs training at once (default 2)"},
        KeepFinishedJobsFlagSpec("their artifacts under --work"),
        MaxDatasetGbFlagSpec("fetched datasets under --work", 20),
    },
    kListen);

absl::Status Serve(const Flags& flags) {
  TrainerOptions options;
  GP_ASSIGN_OR_RETURN(options.work_dir, flags.Required("work"));
  GP_ASSIGN_OR_RETURN(options.max_jobs, MaxJobsFlag(flags, options.max_jobs));
  GP_ASSIGN_OR_RETURN(options.keep_finished_jobs,
                      KeepFinishedJobsFlag(flags, options.keep_finished_jobs));
  GP_ASSIGN_OR_RETURN(options.max_dataset_bytes,
                      MaxDatasetBytesFlag(flags, options.max_dataset_bytes));

  TrainerService service(options);
  GP_RETURN_IF_ERROR(service.Start());
  GP_ASSIGN_OR_RETURN(ServiceEndpoints endpoints,
                      StartServing(flags, kListen, &service, 64 << 20, "trainer", "cpu"));
  LOG(INFO) << "event=listening address=" << endpoints.server.address
            << " work=" << options.work_dir << " max_jobs=" << options.max_jobs
            << " keep_finished_jobs=" << options.keep_finished_jobs
            << " max_dataset_bytes=" << options.max_dataset_bytes;
  const auto registration =
      RegisterWithCoordinator(flags, "trainer", endpoints.server.address, options.max_jobs);
  return ServeUntilSignal(flags, endpoints.server, [&] { service.Stop(); });
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  return gp::ServiceMain(
      argc, argv,
      {"trainer", "graphprobe-trainer --work DIR [--coordinator ADDR] [--listen ADDR]", gp::kFlags,
       "GRAPHPROBE_TRAINER_"},
      gp::Serve);
}
