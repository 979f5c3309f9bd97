#include "services/cli/report_command.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/report/report.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kReportFlags = {
    {"out", true, "the HTML file to write (default RESULTS_DIR/report.html)"},
    {"assets", true,
     "folder with vega.min.js, vega-lite.min.js, vega-embed.min.js (default: the build's "
     "web-assets, or GRAPHPROBE_WEB_ASSETS)"},
    {"help", false, "show this help"},
};

}  // namespace

void WriteReportBesideResults(const std::string& results_dir, const std::string& command) {
  const std::string report = (std::filesystem::path(results_dir) / "report.html").string();
  const absl::Status written = WriteReport(results_dir, report, DefaultWebAssetsDir());
  if (written.ok()) {
    std::cout << "wrote " << report << "\n";
  } else {
    std::cerr << "graphprobe " << command << ": no report: " << written.message() << "\n";
  }
}

int RunReportCommand(std::vector<std::string> args) {
  const std::vector<std::string> positional = TakePositional(&args, kReportFlags);
  return RunSubcommand(
      "report",
      "usage: graphprobe report RESULTS_DIR [--out FILE]\n"
      "Writes the HTML report of a results directory (what `graphprobe run` or `graphprobe "
      "results` wrote): one file, nothing fetched when it is viewed.",
      kReportFlags, args, std::cout, [&](const Flags& flags) -> absl::Status {
        if (positional.size() != 1) {
          return absl::InvalidArgumentError("expected one RESULTS_DIR");
        }
        const std::string out =
            flags.Get("out", (std::filesystem::path(positional[0]) / "report.html").string());
        GP_RETURN_IF_ERROR(
            WriteReport(positional[0], out, flags.Get("assets", DefaultWebAssetsDir())));
        std::cout << "wrote " << out << "\n";
        return absl::OkStatus();
      });
}

}  // namespace gp
