// graphprobe-extractor: serves the Extractor RPC (and gRPC health and reflection) for the
// models under --model-root. Flags also come from GRAPHPROBE_EXTRACTOR_* environment
// variables. SIGTERM or SIGINT drains: NOT_SERVING first, then in-flight requests finish
// (for up to --drain-seconds) before the process exits.
#include <c10/util/Logging.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/core/status.h"
#include "services/common/service_main.h"
#include "services/extractor/extractor_service.h"

namespace gp {
namespace {

constexpr char kListen[] = "127.0.0.1:50051";
const std::vector<FlagSpec> kFlags = WithWorkerFlags(
    {
        {"model-root", true, "directory under which request model paths resolve (required)"},
        {"device", true, "cpu (default), cuda or cuda:N"},
        {"dtype", true, "float32 (default) or bfloat16, for requests that name none"},
        {"max-batch", true, "prompts per forward pass, across requests (default 64)"},
        {"max-wait-ms", true, "how long a forward pass waits to fill up (default 5)"},
        {"cached-models", true, "models kept loaded (default 2)"},
        {"max-queued-prompts", true,
         "prompts waiting for a forward pass before new work is refused with "
         "RESOURCE_EXHAUSTED (default 4096)"},
        {"preload", true, "comma-separated model paths to load before reporting SERVING"},
        {"cuda-graphs", false,
         "pad forward passes to shapes that repeat and replay them from CUDA graphs"},
    },
    kListen);

absl::Status Serve(const Flags& flags) {
  ExtractorOptions options;
  GP_ASSIGN_OR_RETURN(options.model_root, flags.Required("model-root"));
  options.device = flags.Get("device", options.device);
  options.dtype = flags.Get("dtype", options.dtype);
  GP_ASSIGN_OR_RETURN(options.max_batch, flags.Int32("max-batch", options.max_batch));
  GP_ASSIGN_OR_RETURN(options.max_wait_ms, flags.Int32("max-wait-ms", options.max_wait_ms));
  GP_ASSIGN_OR_RETURN(options.cached_models, flags.Int32("cached-models", options.cached_models));
  GP_ASSIGN_OR_RETURN(options.max_queued_prompts,
                      flags.Int32("max-queued-prompts", options.max_queued_prompts));
  if (options.max_batch < 1 || options.max_wait_ms < 0 || options.cached_models < 1 ||
      options.max_queued_prompts < 1) {
    return absl::InvalidArgumentError(
        "--max-batch, --cached-models and --max-queued-prompts must be >= 1, --max-wait-ms >= 0");
  }
  options.cuda_graphs = flags.Has("cuda-graphs");
  GP_RETURN_IF_ERROR(ParseModelOptions(options.dtype, options.device).status());
  if (!std::filesystem::is_directory(options.model_root)) {
    return absl::NotFoundError(
        absl::StrCat("--model-root ", options.model_root, ": no such directory"));
  }

  ExtractorService service(options);
  GP_ASSIGN_OR_RETURN(ServiceEndpoints endpoints, StartServing(flags, kListen, &service, 64 << 20,
                                                               "extractor", options.device));
  LOG(INFO) << "event=listening address=" << endpoints.server.address
            << " model_root=" << options.model_root << " device=" << options.device
            << " max_batch=" << options.max_batch << " cuda_graphs=" << options.cuda_graphs;
  std::vector<std::string> preload;
  for (absl::string_view path : absl::StrSplit(flags.Get("preload", ""), ',', absl::SkipEmpty())) {
    preload.emplace_back(path);
  }
  GP_RETURN_IF_ERROR(service.WarmUp(preload));
  const auto registration =
      RegisterWithCoordinator(flags, "extractor", endpoints.server.address, 1);
  GP_RETURN_IF_ERROR(ServeUntilSignal(flags, endpoints.server, [&] { service.Stop(); }));
  LOG(INFO) << "event=extractor_done forward_passes=" << service.forward_passes()
            << " replayed=" << service.replayed_passes();
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  return gp::ServiceMain(argc, argv,
                         {"extractor", "graphprobe-extractor --model-root DIR [--listen ADDR]",
                          gp::kFlags, "GRAPHPROBE_EXTRACTOR_"},
                         gp::Serve);
}
