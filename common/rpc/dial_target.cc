// HOST:PORT checks for the addresses graphprobe dials.
#include "common/rpc/dial_target.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gp {
namespace {

bool IsPort(const std::string& text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  const int port = std::stoi(text);
  return port >= 1 && port <= 65535;
}

}  // namespace

absl::Status CheckDialTarget(const std::string& flag, const std::string& target) {
  for (const char* scheme : {"dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:"}) {
    if (absl::StartsWith(target, scheme)) return absl::OkStatus();
  }
  const size_t colon = target.rfind(':');
  bool ok = colon != std::string::npos && colon > 0 && IsPort(target.substr(colon + 1));
  if (ok) {
    const std::string host = target.substr(0, colon);
    // An IPv6 address is bracketed ("[::1]:5000"); a bare colon in the host is one that is not.
    ok = host.front() == '[' ? host.size() > 2 && host.back() == ']'
                             : host.find(':') == std::string::npos;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      flag, " '", target,
      "': expected HOST:PORT with a port 1..65535 (or a gRPC target: dns:///HOST:PORT, "
      "unix:PATH)"));
}

}  // namespace gp
