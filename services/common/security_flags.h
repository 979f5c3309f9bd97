// The security flags every service binary and every client command takes (--tls-cert,
// --tls-key, --tls-ca, --auth-token-file; common/rpc/security.h says what each does), and
// applying them to the process.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "services/cli/flags.h"

namespace gp {

// `specs` with the security flags added.
std::vector<FlagSpec> WithSecurityFlags(std::vector<FlagSpec> specs);

// Configures this process's servers and channels from the flags. A server (`serves`) with a
// token must also have a certificate and key: a bearer token is only accepted inside TLS.
absl::Status ConfigureSecurityFromFlags(const Flags& flags, bool serves);

}  // namespace gp
