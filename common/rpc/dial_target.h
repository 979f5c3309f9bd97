// Checks an address a process will dial (--coordinator, --extractors, --advertise,
// --health-check) when the flag is read, so that a typo is an error naming the flag instead of
// gRPC's "ipv4:127.0.0.1:0: Connection refused" (a port it could not parse) or a minute of
// retries against nothing.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace gp {

// OK for HOST:PORT (a name, an IPv4 address or a bracketed IPv6 one; a port 1..65535) and for
// a gRPC target with a scheme (dns:, ipv4:, ipv6:, unix:, unix-abstract:, vsock:), which gRPC
// checks itself. Otherwise InvalidArgument: "FLAG 'VALUE': expected HOST:PORT ...".
absl::Status CheckDialTarget(const std::string& flag, const std::string& target);

}  // namespace gp
