// graphprobe-features: serves the Features RPC (and gRPC health and reflection): dataset jobs
// built through the extractors named by --extractors, written under --data. Flags also come
// from GRAPHPROBE_FEATURES_* environment variables. SIGTERM drains: NOT_SERVING, running jobs
// stop between forward passes (their checkpoints stay; the next start resumes them). Finished
// jobs are kept within --keep-finished-jobs and --max-dataset-gb, least recently used out.
#include <c10/util/Logging.h>

#include "absl/strings/str_split.h"
#include "common/core/status.h"
#include "common/rpc/dial_target.h"
#include "services/common/service_main.h"
#include "services/features/features_service.h"

namespace gp {
namespace {

constexpr char kListen[] = "127.0.0.1:50052";
const std::vector<FlagSpec> kFlags = WithWorkerFlags(
    {
        {"data", true, "directory of job records and datasets (required)"},
        {"extractors", true,
         "comma-separated host:port of the extractors (default: those registered with "
         "--coordinator)"},
        {"max-jobs", true, "jobs running at once (default 2)"},
        KeepFinishedJobsFlagSpec("their records and datasets under --data"),
        MaxDatasetGbFlagSpec("datasets and checkpoints of finished jobs under --data", 100),
        {"extract-deadline-seconds", true,
         "deadline of one Extract call: a frozen or cut-off extractor is given up after it and "
         "its prompts go to another (default 300)"},
    },
    kListen);

absl::Status Serve(const Flags& flags) {
  FeaturesOptions options;
  GP_ASSIGN_OR_RETURN(options.data_dir, flags.Required("data"));
  const std::string extractors = flags.Get("extractors", "");
  for (absl::string_view address : absl::StrSplit(extractors, ',', absl::SkipEmpty())) {
    options.extractors.emplace_back(address);
    GP_RETURN_IF_ERROR(CheckDialTarget("--extractors", options.extractors.back()));
  }
  options.coordinator = flags.Get("coordinator", "");
  if (options.extractors.empty() && options.coordinator.empty()) {
    return absl::InvalidArgumentError("--extractors: none given (and no --coordinator to ask)");
  }
  GP_ASSIGN_OR_RETURN(options.max_jobs, MaxJobsFlag(flags, options.max_jobs));
  GP_ASSIGN_OR_RETURN(options.keep_finished_jobs,
                      KeepFinishedJobsFlag(flags, options.keep_finished_jobs));
  GP_ASSIGN_OR_RETURN(options.max_dataset_bytes,
                      MaxDatasetBytesFlag(flags, options.max_dataset_bytes));
  GP_ASSIGN_OR_RETURN(options.extract_deadline_seconds,
                      flags.Double("extract-deadline-seconds", options.extract_deadline_seconds));
  if (options.extract_deadline_seconds <= 0) {
    return absl::InvalidArgumentError("--extract-deadline-seconds must be > 0");
  }

  FeaturesService service(options);
  GP_ASSIGN_OR_RETURN(ServiceEndpoints endpoints,
                      StartServing(flags, kListen, &service, 4 << 20, "features", "cpu"));
  LOG(INFO) << "event=listening address=" << endpoints.server.address
            << " data=" << options.data_dir << " extractors=" << extractors
            << " keep_finished_jobs=" << options.keep_finished_jobs
            << " max_dataset_bytes=" << options.max_dataset_bytes;
  GP_RETURN_IF_ERROR(service.Start());
  const auto registration =
      RegisterWithCoordinator(flags, "features", endpoints.server.address, options.max_jobs);
  // A shutdown stops running jobs between forward passes; they stay queued for the next start.
  return ServeUntilSignal(flags, endpoints.server, [&] { service.Stop(); });
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  return gp::ServiceMain(argc, argv,
                         {"features",
                          "graphprobe-features --data DIR (--extractors ADDR,... | --coordinator "
                          "ADDR) [--listen ADDR]",
                          gp::kFlags, "GRAPHPROBE_FEATURES_"},
                         gp::Serve);
}
