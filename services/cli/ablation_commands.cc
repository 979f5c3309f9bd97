// The ablation commands that talk to a coordinator (--coordinator or GRAPHPROBE_COORDINATOR).
#include "services/cli/ablation_commands.h"

#include <grpcpp/grpcpp.h>

#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/rpc/dial_target.h"
#include "common/rpc/status.h"
#include "services/cli/coordinator_client.h"
#include "services/cli/flags.h"
#include "services/cli/report_command.h"
#include "services/common/security_flags.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

const FlagSpec kCoordinatorFlag = {"coordinator", true,
                                   "host:port of the coordinator (or GRAPHPROBE_COORDINATOR)"};
const FlagSpec kHelpFlag = {"help", false, "show this help"};

// The one positional argument a command takes (SPEC or ID).
absl::StatusOr<std::string> OnlyArgument(const std::vector<std::string>& positional,
                                         const std::string& what) {
  if (positional.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one ", what, ", got ", positional.size(), " arguments"));
  }
  return positional[0];
}

// Runs `body` with the parsed flags and the positional arguments.
int RunCoordinatorCommand(
    const std::string& name, const std::string& usage, std::vector<FlagSpec> specs,
    std::vector<std::string> args,
    const std::function<absl::Status(const Flags&, const std::vector<std::string>&)>& body) {
  specs.push_back(kCoordinatorFlag);
  specs.push_back(kHelpFlag);
  specs = WithSecurityFlags(std::move(specs));
  const std::vector<std::string> positional = TakePositional(&args, specs);
  return RunSubcommand(
      name, usage, specs, args, std::cout,
      [&](const Flags& flags) {
        GP_RETURN_IF_ERROR(ConfigureSecurityFromFlags(flags, /*serves=*/false));
        if (flags.Has("coordinator")) {
          GP_RETURN_IF_ERROR(CheckDialTarget("--coordinator", flags.Get("coordinator", "")));
        }
        return body(flags, positional);
      },
      {}, "GRAPHPROBE_");
}

std::string StateName(pb::Ablation::State state) {
  return absl::AsciiStrToLower(pb::Ablation::State_Name(state));
}

}  // namespace

int RunSubmitCommand(std::vector<std::string> args) {
  return RunCoordinatorCommand(
      "submit",
      "usage: graphprobe submit --coordinator ADDR [--request-id ID] SPEC\n"
      "Submits an ablation spec (JSON; model paths relative to each extractor's --model-root)\n"
      "and prints its id as the last line. Submitting again with the same request id (default:\n"
      "the spec's hash) returns the same ablation.",
      {{"request-id", true, "a name for this submission, for retries (default: the spec's hash)"}},
      std::move(args), [](const Flags& flags, const std::vector<std::string>& positional) {
        GP_ASSIGN_OR_RETURN(const std::string path, OnlyArgument(positional, "SPEC file"));
        GP_ASSIGN_OR_RETURN(const std::string coordinator, flags.Required("coordinator"));
        GP_ASSIGN_OR_RETURN(std::string text, ReadTextFile(path));
        pb::CreateAblationRequest request;
        request.set_spec_json(std::move(text));
        request.set_request_id(flags.Get("request-id", ""));
        grpc::ClientContext context;
        SetDeadline(&context, kCoordinatorCallSeconds);
        pb::Ablation ablation;
        const grpc::Status status =
            CoordinatorStub(coordinator)->CreateAblation(&context, request, &ablation);
        if (!status.ok()) return FromGrpcStatus(status, path);
        std::cout << absl::StrFormat("ablation '%s': %d cells, %s\n", ablation.name(),
                                     ablation.cells_total(), StateName(ablation.state()))
                  << ablation.id() << std::endl;
        return absl::OkStatus();
      });
}

int RunWatchCommand(std::vector<std::string> args) {
  return RunCoordinatorCommand(
      "watch",
      "usage: graphprobe watch --coordinator ADDR ID\n"
      "Follows an ablation until it ends: exit 0 when it succeeded, 1 when it failed or was\n"
      "cancelled. Last, the URL of its HTML report where the coordinator serves reports.",
      {}, std::move(args), [](const Flags& flags, const std::vector<std::string>& positional) {
        GP_ASSIGN_OR_RETURN(const std::string id, OnlyArgument(positional, "ablation ID"));
        GP_ASSIGN_OR_RETURN(const std::string coordinator, flags.Required("coordinator"));
        GP_ASSIGN_OR_RETURN(pb::Ablation ablation,
                            WatchAblation(*CoordinatorStub(coordinator), id, std::cout));
        std::cout << "ablation " << id << " " << StateName(ablation.state()) << "\n";
        if (!ablation.report_url().empty())
          std::cout << "report: " << ablation.report_url() << "\n";
        return AblationOutcome(ablation);
      });
}

int RunResultsCommand(std::vector<std::string> args) {
  return RunCoordinatorCommand(
      "results",
      "usage: graphprobe results --coordinator ADDR ID --out DIR\n"
      "Writes an ablation's results (results.csv, summary.csv, results.json, heads-<model>.csv,\n"
      "as `graphprobe run` writes them) from the cells finished so far, and their report.html.",
      {{"out", true, "output directory (required)"}}, std::move(args),
      [](const Flags& flags, const std::vector<std::string>& positional) {
        GP_ASSIGN_OR_RETURN(const std::string id, OnlyArgument(positional, "ablation ID"));
        GP_ASSIGN_OR_RETURN(const std::string coordinator, flags.Required("coordinator"));
        GP_ASSIGN_OR_RETURN(const std::string out, flags.Required("out"));
        GP_ASSIGN_OR_RETURN(std::vector<std::string> names,
                            DownloadResults(*CoordinatorStub(coordinator), id, out));
        std::cout << "wrote " << out << "/{" << absl::StrJoin(names, ",") << "}\n";
        WriteReportBesideResults(out, "results");
        return absl::OkStatus();
      });
}

int RunListCommand(std::vector<std::string> args) {
  return RunCoordinatorCommand(
      "list", "usage: graphprobe list --coordinator ADDR\nLists the coordinator's ablations.", {},
      std::move(args), [](const Flags& flags, const std::vector<std::string>& positional) {
        if (!positional.empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat("unexpected argument '", positional[0], "'"));
        }
        GP_ASSIGN_OR_RETURN(const std::string coordinator, flags.Required("coordinator"));
        grpc::ClientContext context;
        SetDeadline(&context, kCoordinatorCallSeconds);
        pb::ListAblationsResponse response;
        const grpc::Status status =
            CoordinatorStub(coordinator)
                ->ListAblations(&context, pb::ListAblationsRequest(), &response);
        if (!status.ok()) return FromGrpcStatus(status, "coordinator");
        std::cout << absl::StrFormat("%-16s  %-10s  %-24s  %s\n", "id", "state", "name",
                                     "progress");
        for (const pb::Ablation& a : response.ablations()) {
          std::cout << absl::StrFormat("%-16s  %-10s  %-24s  %s\n", a.id(), StateName(a.state()),
                                       a.name(), ProgressLine(a));
        }
        return absl::OkStatus();
      });
}

int RunCancelCommand(std::vector<std::string> args) {
  return RunCoordinatorCommand(
      "cancel",
      "usage: graphprobe cancel --coordinator ADDR ID\n"
      "Cancels an ablation: its running jobs stop on every service; finished cells stay.",
      {}, std::move(args), [](const Flags& flags, const std::vector<std::string>& positional) {
        GP_ASSIGN_OR_RETURN(const std::string id, OnlyArgument(positional, "ablation ID"));
        GP_ASSIGN_OR_RETURN(const std::string coordinator, flags.Required("coordinator"));
        grpc::ClientContext context;
        SetDeadline(&context, kCoordinatorCallSeconds);
        pb::AblationRequest request;
        request.set_id(id);
        pb::Ablation ablation;
        const grpc::Status status =
            CoordinatorStub(coordinator)->CancelAblation(&context, request, &ablation);
        if (!status.ok()) return FromGrpcStatus(status, "coordinator");
        std::cout << "cancelling ablation " << id << " (" << ProgressLine(ablation) << ")\n";
        return absl::OkStatus();
      });
}

}  // namespace gp
