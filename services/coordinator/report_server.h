// The coordinator's reports over HTTP (`graphprobe-coordinator --http-listen ADDR`):
//   GET /                         the ablations, each linked to its report when finished
//   GET /ablations/ID/report      the HTML report of a finished ablation (common/report), made
//                                 from the stored results when asked; 409 while it runs, 404
//                                 for an unknown ID
// Like /metrics it has no authentication of its own: bind it where only its readers reach it.
#pragma once

#include <string>

#include "common/rpc/http_endpoint.h"
#include "services/coordinator/coordinator_service.h"

namespace gp {

// The handler of the routes above; `assets_dir` holds the plotting library (report.h).
HttpHandler CoordinatorReportHandler(CoordinatorService* service, std::string assets_dir);

}  // namespace gp
