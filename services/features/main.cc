// graphprobe-features: serves the Features RPC (and gRPC health and reflection): dataset jobs
// built through the extractors named by --extractors, written under --data. Flags also come
// from GRAPHPROBE_FEATURES_* environment variables. SIGTERM drains: NOT_SERVING, running jobs
// stop between forward passes (their checkpoints stay; the next start resumes them).
#include <c10/util/Logging.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/core/allocator_tuning.h"
#include "common/core/status.h"
#include "services/common/service_main.h"
#include "services/features/features_service.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kFlags = WithWorkerFlags(
    {
        {"data", true, "directory of job records and datasets (required)"},
        {"extractors", true,
         "comma-separated host:port of the extractors (default: those registered with "
         "--coordinator)"},
        {"max-jobs", true, "jobs running at once (default 2)"},
        {"extract-deadline-seconds", true,
         "deadline of one Extract call: a frozen or cut-off extractor is given up after it and "
         "its prompts go to another (default 300)"},
    },
    "127.0.0.1:50052");

absl::Status Serve(const Flags& flags) {
  GP_RETURN_IF_ERROR(ConfigureServiceSecurity(flags));
  absl::Status health;
  if (HandledHealthCheck(flags, &health)) return health;
  FeaturesOptions options;
  GP_ASSIGN_OR_RETURN(options.data_dir, flags.Required("data"));
  const std::string extractors = flags.Get("extractors", "");
  for (absl::string_view address : absl::StrSplit(extractors, ',', absl::SkipEmpty())) {
    options.extractors.emplace_back(address);
  }
  options.coordinator = flags.Get("coordinator", "");
  if (options.extractors.empty() && options.coordinator.empty()) {
    return absl::InvalidArgumentError("--extractors: none given (and no --coordinator to ask)");
  }
  GP_ASSIGN_OR_RETURN(int64_t max_jobs, flags.Int("max-jobs", options.max_jobs));
  if (max_jobs < 1) return absl::InvalidArgumentError("--max-jobs must be >= 1");
  options.max_jobs = static_cast<int>(max_jobs);
  GP_ASSIGN_OR_RETURN(options.extract_deadline_seconds,
                      flags.Double("extract-deadline-seconds", options.extract_deadline_seconds));
  if (options.extract_deadline_seconds <= 0) {
    return absl::InvalidArgumentError("--extract-deadline-seconds must be > 0");
  }

  FeaturesService service(options);
  GP_ASSIGN_OR_RETURN(RunningServer running,
                      StartServer(flags.Get("listen", "127.0.0.1:50052"), {&service}, 4 << 20));
  std::cout << "listening on " << running.address << std::endl;
  GP_ASSIGN_OR_RETURN(const std::unique_ptr<MetricsEndpoint> metrics,
                      StartMetrics(flags, "features", "cpu"));
  LOG(INFO) << "event=listening address=" << running.address << " data=" << options.data_dir
            << " extractors=" << extractors;
  GP_RETURN_IF_ERROR(service.Start());
  const auto registration =
      RegisterWithCoordinator(flags, "features", running.address, options.max_jobs);
  // A shutdown stops running jobs between forward passes; they stay queued for the next start.
  return ServeUntilSignal(flags, running, [&] { service.Stop(); });
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  gp::BlockTerminationSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  return gp::RunSubcommand(
      "features",
      "graphprobe-features --data DIR (--extractors ADDR,... | --coordinator ADDR) [--listen ADDR]",
      gp::kFlags, args, std::cout, gp::Serve, {}, "GRAPHPROBE_FEATURES_");
}
