// Coordinator calls of the CLI.
#include "services/cli/coordinator_client.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/rpc/security.h"
#include "common/rpc/status.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

}  // namespace

std::string FormatDuration(double seconds) {
  if (seconds < 0) return "?";
  const int s = static_cast<int>(seconds + 0.5);
  return s >= 3600 ? absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60)
                   : absl::StrFormat("%dm%02ds", s / 60, s % 60);
}

std::unique_ptr<pb::Coordinator::Stub> CoordinatorStub(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 << 20);  // result files of large grids
  return pb::Coordinator::NewStub(MakeChannel(address, arguments));
}

std::string ProgressLine(const pb::Ablation& a) {
  return absl::StrFormat("cells %d/%d (%d running, %d failed), datasets %d/%d, elapsed %s, ETA %s",
                         a.cells_done(), a.cells_total(), a.cells_running(), a.cells_failed(),
                         a.datasets_done(), a.datasets_total(), FormatDuration(a.elapsed_seconds()),
                         FormatDuration(a.eta_seconds()));
}

absl::StatusOr<pb::Ablation> WatchAblation(pb::Coordinator::Stub& stub, const std::string& id,
                                           std::ostream& out) {
  const bool terminal = ::isatty(STDOUT_FILENO);
  std::string last_line;
  pb::Ablation ablation;
  int failures = 0;
  for (;;) {
    grpc::ClientContext context;
    pb::AblationRequest request;
    request.set_id(id);
    auto reader = stub.WatchAblation(&context, request);
    while (reader->Read(&ablation)) {
      failures = 0;
      const std::string line = ProgressLine(ablation);
      if (line == last_line) continue;
      last_line = line;
      out << (terminal ? "\r" : "") << line << (terminal ? "   " : "\n") << std::flush;
    }
    const grpc::Status status = reader->Finish();
    const bool ended = ablation.state() == pb::Ablation::SUCCEEDED ||
                       ablation.state() == pb::Ablation::FAILED ||
                       ablation.state() == pb::Ablation::CANCELLED;
    if (status.ok() && ended) break;
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return FromGrpcStatus(status, "coordinator");
    }
    // The coordinator is restarting (or the stream was cut): ask again, for up to a minute,
    // and say so once, rather than sitting silent for that minute.
    if (++failures > 120) return FromGrpcStatus(status, "coordinator");
    if (failures == 1 && !status.ok()) {
      std::cerr << (terminal && !last_line.empty() ? "\n" : "")
                << "watch: coordinator unavailable (" << status.error_message()
                << "); retrying for up to a minute" << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (terminal) out << "\n";
  return ablation;
}

absl::Status AblationOutcome(const pb::Ablation& ablation) {
  switch (ablation.state()) {
    case pb::Ablation::SUCCEEDED:
      return absl::OkStatus();
    case pb::Ablation::CANCELLED:
      return absl::CancelledError(absl::StrCat("ablation ", ablation.id(), " was cancelled"));
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("ablation ", ablation.id(), " failed: ", ablation.error()));
  }
}

absl::StatusOr<std::vector<std::string>> DownloadResults(pb::Coordinator::Stub& stub,
                                                         const std::string& id,
                                                         const std::string& out_dir) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  pb::AblationRequest request;
  request.set_id(id);
  pb::AblationResults results;
  const grpc::Status status = stub.GetResults(&context, request, &results);
  if (!status.ok()) return FromGrpcStatus(status, "coordinator");
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", error.message()));
  }
  std::vector<std::string> names;
  for (const pb::ResultFile& file : results.files()) {
    // Names come from the coordinator: only plain file names are written.
    if (file.name().empty() || file.name().find('/') != std::string::npos ||
        file.name()[0] == '.') {
      return absl::DataLossError(
          absl::StrCat("coordinator sent a bad file name '", file.name(), "'"));
    }
    GP_RETURN_IF_ERROR(
        WriteTextFile((std::filesystem::path(out_dir) / file.name()).string(), file.content()));
    names.push_back(file.name());
  }
  return names;
}

}  // namespace gp
