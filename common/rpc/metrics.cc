// The process registry, scrape callbacks, build info and the /metrics endpoint.
#include "common/rpc/metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <torch/version.h>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

#ifndef GP_VERSION
#define GP_VERSION "unknown"
#endif
#ifndef GP_GIT_COMMIT
#define GP_GIT_COMMIT "unknown"
#endif

namespace gp {
namespace {

std::mutex& CallbacksMutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<int, ScrapeCallback>& Callbacks() {
  static std::map<int, ScrapeCallback> callbacks;
  return callbacks;
}

}  // namespace

std::shared_ptr<prometheus::Registry> ProcessRegistry() {
  static auto registry = std::make_shared<prometheus::Registry>();
  return registry;
}

ScrapeHook::ScrapeHook(ScrapeCallback callback) {
  std::lock_guard<std::mutex> lock(CallbacksMutex());
  static int next_id = 0;
  id_ = next_id++;
  Callbacks()[id_] = std::move(callback);
}

ScrapeHook::~ScrapeHook() {
  std::lock_guard<std::mutex> lock(CallbacksMutex());
  Callbacks().erase(id_);
}

std::vector<prometheus::MetricFamily> CollectProcessMetrics() {
  std::vector<prometheus::MetricFamily> families = ProcessRegistry()->Collect();
  std::lock_guard<std::mutex> lock(CallbacksMutex());
  for (const auto& [id, callback] : Callbacks()) {
    for (prometheus::MetricFamily& family : callback()) {
      // Two services of one kind in a process (tests) report under one family name.
      auto same =
          std::find_if(families.begin(), families.end(),
                       [&](const prometheus::MetricFamily& f) { return f.name == family.name; });
      if (same == families.end()) {
        families.push_back(std::move(family));
      } else {
        for (auto& metric : family.metric) same->metric.push_back(std::move(metric));
      }
    }
  }
  return families;
}

void RecordBuildInfo(const std::string& service, const std::string& device) {
  static auto& family = prometheus::BuildGauge()
                            .Name("graphprobe_build_info")
                            .Help("Build and runtime of a graphprobe service (always 1)")
                            .Register(*ProcessRegistry());
  family
      .Add({{"service", service},
            {"version", GP_VERSION},
            {"git_commit", GP_GIT_COMMIT},
            {"torch", TORCH_VERSION},
            {"device", device}})
      .Set(1);
}

prometheus::Counter& ProcessCounter(const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(*ProcessRegistry()).Add({});
}

prometheus::Histogram& ProcessHistogram(const std::string& name, const std::string& help,
                                        const std::vector<double>& buckets) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(*ProcessRegistry())
      .Add({}, prometheus::Histogram::BucketBoundaries(buckets));
}

prometheus::MetricFamily GaugeFamily(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<std::map<std::string, std::string>, double>>& values) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = prometheus::MetricType::Gauge;
  for (const auto& [labels, value] : values) {
    prometheus::ClientMetric metric;
    for (const auto& [key, label] : labels) metric.label.push_back({key, label});
    metric.gauge.value = value;
    family.metric.push_back(std::move(metric));
  }
  return family;
}

std::string MetricsText() {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, CollectProcessMetrics());
  return out.str();
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& listen) {
  GP_ASSIGN_OR_RETURN(
      std::unique_ptr<HttpEndpoint> http,
      HttpEndpoint::Start(listen, "--metrics-listen", [](const std::string& path) {
        if (path != "/metrics") {
          return HttpResponse{404, "text/plain; charset=utf-8", "metrics are at /metrics\n"};
        }
        return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", MetricsText()};
      }));
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(http)));
}

}  // namespace gp
