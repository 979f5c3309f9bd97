// The coordinator's report routes.
#include "services/coordinator/report_server.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/report/report.h"

namespace gp {
namespace {

namespace pb = graphprobe::v1;

constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kText[] = "text/plain; charset=utf-8";

HttpResponse ErrorResponse(const absl::Status& status) {
  const int code = status.code() == absl::StatusCode::kNotFound ? 404 : 500;
  return {code, kText, absl::StrCat(status.message(), "\n")};
}

HttpResponse Index(CoordinatorService* service) {
  pb::ListAblationsRequest request;
  pb::ListAblationsResponse response;
  const grpc::Status listed = service->ListAblations(nullptr, &request, &response);
  if (!listed.ok()) return {500, kText, listed.error_message() + "\n"};
  std::string rows;
  for (const pb::Ablation& a : response.ablations()) {
    const std::string state = pb::Ablation::State_Name(a.state());
    const std::string link =
        AblationFinished(a.state())
            ? absl::StrCat("<a href=\"/ablations/", HtmlEscape(a.id()), "/report\">report</a>")
            : "running";
    absl::StrAppend(&rows, "<tr><td>", HtmlEscape(a.id()), "</td><td>", HtmlEscape(a.name()),
                    "</td><td>", state, "</td><td>", a.cells_done(), "/", a.cells_total(),
                    "</td><td>", link, "</td></tr>\n");
  }
  return {200, kHtml,
          absl::StrCat("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>graphprobe "
                       "coordinator</title></head><body><h1>graphprobe ablations</h1><table>"
                       "<tr><th>id</th><th>name</th><th>state</th><th>cells</th><th></th></tr>\n",
                       rows, "</table></body></html>\n")};
}

HttpResponse Report(CoordinatorService* service, const std::string& id,
                    const std::string& assets_dir) {
  absl::StatusOr<AblationResultFiles> found = service->ResultFilesOf(id);
  if (!found.ok()) return ErrorResponse(found.status());
  const pb::Ablation& a = found->ablation;
  if (!AblationFinished(a.state())) {
    return {409, kText,
            absl::StrCat("ablation ", id, " is still running (", a.cells_done(), " of ",
                         a.cells_total(), " cells); its report is served once it has finished\n")};
  }
  ReportFiles files(found->files.begin(), found->files.end());
  absl::StatusOr<nlohmann::json> data = ReportDataFromFiles(files);
  if (!data.ok()) return ErrorResponse(data.status());
  absl::StatusOr<std::string> html =
      RenderReport(*data, a.name().empty() ? id : a.name(), assets_dir);
  if (!html.ok()) return {503, kText, absl::StrCat(html.status().message(), "\n")};
  return {200, kHtml, std::move(*html)};
}

}  // namespace

HttpHandler CoordinatorReportHandler(CoordinatorService* service, std::string assets_dir) {
  return [service, assets_dir = std::move(assets_dir)](const std::string& path) -> HttpResponse {
    if (path == "/" || path == "/ablations" || path == "/ablations/") return Index(service);
    constexpr char kPrefix[] = "/ablations/", kSuffix[] = "/report";
    if (absl::StartsWith(path, kPrefix) && absl::EndsWith(path, kSuffix) &&
        path.size() > sizeof kPrefix - 1 + sizeof kSuffix - 1) {
      const std::string id = path.substr(sizeof kPrefix - 1,
                                         path.size() - (sizeof kPrefix - 1) - (sizeof kSuffix - 1));
      if (id.find('/') == std::string::npos) return Report(service, id, assets_dir);
    }
    return {404, kText,
            absl::StrCat("no page at ", path,
                         "; the reports are at /ablations/ID/report, the "
                         "ablations at /\n")};
  };
}

}  // namespace gp
