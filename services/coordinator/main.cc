// graphprobe-coordinator: serves the Coordinator RPC (and gRPC health and reflection):
// ablations submitted by `graphprobe submit`, scheduled on the workers that register with it,
// state in SQLite under --state; with --http-listen, the finished ablations' HTML reports.
// Flags also come from GRAPHPROBE_COORDINATOR_* environment variables. SIGTERM drains: running
// ablations stop where they are and resume at the next start.
#include <c10/util/Logging.h>
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/report/report.h"
#include "common/rpc/http_endpoint.h"
#include "services/common/service_main.h"
#include "services/coordinator/coordinator_service.h"
#include "services/coordinator/report_server.h"

namespace gp {
namespace {

constexpr char kListen[] = "127.0.0.1:50050";
const std::vector<FlagSpec> kFlags = WithServiceFlags(
    {
        {"state", true, "directory of the state database (required)"},
        {"lease-seconds", true, "how long a worker stays live without a heartbeat (default 10)"},
        {"max-attempts", true, "tries per cell and dataset for passing failures (default 5)"},
        {"http-listen", true,
         "serve the ablations' HTML reports over HTTP here (host:port; default: not served)"},
        {"http-advertise", true,
         "the reports' URL base as clients reach it (default http://HTTP-LISTEN, the host name "
         "for a wildcard address)"},
        {"web-assets", true,
         "folder with the reports' plotting library (default: the build's web-assets, or "
         "GRAPHPROBE_WEB_ASSETS)"},
    },
    kListen);

// http://ADDRESS, with a wildcard host (0.0.0.0, [::], empty) replaced by this host's name.
std::string ReachableUrl(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 ? name : "localhost";
  }
  return absl::StrCat("http://", host, address.substr(colon));
}

absl::Status Serve(const Flags& flags) {
  CoordinatorOptions options;
  GP_ASSIGN_OR_RETURN(options.state_dir, flags.Required("state"));
  GP_ASSIGN_OR_RETURN(options.lease_seconds, flags.Double("lease-seconds", options.lease_seconds));
  if (!(options.lease_seconds >= 0.1)) {
    return absl::InvalidArgumentError("--lease-seconds must be >= 0.1");
  }
  GP_ASSIGN_OR_RETURN(options.max_attempts, flags.Int32("max-attempts", options.max_attempts));
  if (options.max_attempts < 1) return absl::InvalidArgumentError("--max-attempts must be >= 1");

  CoordinatorService service(options);
  GP_RETURN_IF_ERROR(service.Start());
  std::unique_ptr<HttpEndpoint> reports;
  if (flags.Has("http-listen")) {
    GP_ASSIGN_OR_RETURN(
        reports,
        HttpEndpoint::Start(
            flags.Get("http-listen", ""), "--http-listen",
            CoordinatorReportHandler(&service, flags.Get("web-assets", DefaultWebAssetsDir()))));
    const std::string base = flags.Get("http-advertise", ReachableUrl(reports->address()));
    service.SetReportUrlBase(base);
    std::cout << "reports at " << base << std::endl;
  }
  GP_ASSIGN_OR_RETURN(ServiceEndpoints endpoints,
                      StartServing(flags, kListen, &service, 64 << 20, "coordinator", "cpu"));
  LOG(INFO) << "event=listening address=" << endpoints.server.address
            << " state=" << options.state_dir;
  return ServeUntilSignal(flags, endpoints.server, [&] { service.Stop(); });
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  return gp::ServiceMain(argc, argv,
                         {"coordinator", "graphprobe-coordinator --state DIR [--listen ADDR]",
                          gp::kFlags, "GRAPHPROBE_COORDINATOR_"},
                         gp::Serve);
}
