// Prometheus metrics of a graphprobe process: one registry that every service in the process
// adds its families to (`graphprobe run` holds four services), families computed at scrape time
// from callbacks (jobs by state, live workers: always consistent with the service's own
// state), graphprobe_build_info, and the HTTP endpoint (--metrics-listen) serving GET /metrics.
// Names follow Prometheus conventions and are documented in docs/METRICS.md.
//
//   RecordBuildInfo("trainer", "cpu");
//   static prometheus::Counter& epochs = ProcessCounter("graphprobe_trainer_epochs_total", "...");
//   GP_ASSIGN_OR_RETURN(std::unique_ptr<MetricsEndpoint> endpoint,
//                       MetricsEndpoint::Start("0.0.0.0:9090"));
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/http_endpoint.h"

namespace gp {

std::shared_ptr<prometheus::Registry> ProcessRegistry();

using ScrapeCallback = std::function<std::vector<prometheus::MetricFamily>()>;

// Keeps a scrape callback registered while it lives (a service holds one per family it
// computes at scrape time and drops it before its state goes away).
class ScrapeHook {
 public:
  explicit ScrapeHook(ScrapeCallback callback);
  ~ScrapeHook();
  ScrapeHook(const ScrapeHook&) = delete;
  ScrapeHook& operator=(const ScrapeHook&) = delete;

 private:
  int id_;
};

// Every family of the process: the registry's and the scrape callbacks'. What /metrics serves.
std::vector<prometheus::MetricFamily> CollectProcessMetrics();

// graphprobe_build_info{service, version, git_commit, torch, device} 1.
void RecordBuildInfo(const std::string& service, const std::string& device);

// A process-wide counter or histogram without labels (the same one for every caller naming it).
prometheus::Counter& ProcessCounter(const std::string& name, const std::string& help);
prometheus::Histogram& ProcessHistogram(const std::string& name, const std::string& help,
                                        const std::vector<double>& buckets);

// A gauge family from (labels, value) pairs, for scrape callbacks.
prometheus::MetricFamily GaugeFamily(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& values);

// The text exposition format (version 0.0.4) of CollectProcessMetrics.
std::string MetricsText();

// Serves GET /metrics (the text format) on a thread of its own until destroyed; any other path
// is 404, any other method 405 (http_endpoint.h).
class MetricsEndpoint {
 public:
  // Unavailable naming `listen` (host:port, port 0 picks one) when it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& listen);
  const std::string& address() const { return http_->address(); }  // host:port bound

 private:
  explicit MetricsEndpoint(std::unique_ptr<HttpEndpoint> http) : http_(std::move(http)) {}
  std::unique_ptr<HttpEndpoint> http_;
};

}  // namespace gp
