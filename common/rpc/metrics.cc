// The process registry, scrape callbacks, build info and the /metrics endpoint.
#include "common/rpc/metrics.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"

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

int listen_socket(int fd) { return ::listen(fd, 64); }

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
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--metrics-listen '", listen, "': expected host:port"));
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int resolved =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen ", listen, ": ", gai_strerror(resolved)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen_socket(fd) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("--metrics-listen ", listen, ": cannot serve metrics: ", error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(fd, absl::StrCat(listen.substr(0, colon), ":", bound_port)));
}

MetricsEndpoint::MetricsEndpoint(int fd, std::string address)
    : fd_(fd), address_(std::move(address)) {
  if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { Serve(); });
}

MetricsEndpoint::~MetricsEndpoint() {
  const char byte = 0;
  if (wake_[1] >= 0 && write(wake_[1], &byte, 1) < 0) shutdown(fd_, SHUT_RDWR);
  thread_.join();
  close(fd_);
  if (wake_[0] >= 0) close(wake_[0]);
  if (wake_[1] >= 0) close(wake_[1]);
}

void MetricsEndpoint::Serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, wake_[0] >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{5, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    // The request line and headers: up to 8 KiB, until the blank line.
    std::string request;
    char buffer[1024];
    while (request.size() < 8192 && request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    const std::string line = request.substr(0, request.find("\r\n"));
    const size_t space = line.find(' ');
    const std::string method = line.substr(0, space);
    std::string path = space == std::string::npos ? "" : line.substr(space + 1);
    path = path.substr(0, path.find(' '));
    path = path.substr(0, path.find('?'));
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (method != "GET" && method != "HEAD") {
      status = "405 Method Not Allowed";
      body = "only GET\n";
    } else if (path != "/metrics") {
      status = "404 Not Found";
      body = "metrics are at /metrics\n";
    } else {
      body = MetricsText();
    }
    std::string response =
        absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                     "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
    if (method != "HEAD") response += body;
    for (size_t sent = 0; sent < response.size();) {
      const ssize_t n = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(client);
  }
}

}  // namespace gp
