// A small HTTP/1.1 server for what the services show to browsers and scrapers: Prometheus'
// /metrics and the coordinator's reports. One thread, one request per connection (a client has
// 5 s to send its request line and headers, 8 KiB at most), GET and HEAD only; the handler
// answers each path.
//
//   GP_ASSIGN_OR_RETURN(auto endpoint, HttpEndpoint::Start("127.0.0.1:0", "--http-listen",
//       [](const std::string& path) { return HttpResponse{200, "text/plain", "hello\n"}; }));
//   endpoint->address();  // "127.0.0.1:41234"
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace gp {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The answer to a GET of `path` (without its query string).
using HttpHandler = std::function<HttpResponse(const std::string& path)>;

class HttpEndpoint {
 public:
  // Unavailable naming `flag` and `listen` (host:port, port 0 picks one) when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const std::string& listen,
                                                             const std::string& flag,
                                                             HttpHandler handler);
  ~HttpEndpoint();  // stops serving (a request being answered finishes first)
  const std::string& address() const { return address_; }  // host:port bound

 private:
  HttpEndpoint(int fd, std::string address, HttpHandler handler);
  void Serve();
  void Answer(int client);

  int fd_;
  int wake_[2];  // a pipe whose write end stops Serve
  std::string address_;
  HttpHandler handler_;
  std::thread thread_;
};

// The reason phrase of the statuses the services answer with ("OK", "Not Found", ...).
const char* HttpReason(int status);

}  // namespace gp
