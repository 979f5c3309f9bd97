// Security flags -> ConfigureSecurity.
#include "services/common/security_flags.h"

#include "common/rpc/security.h"

namespace gp {

std::vector<FlagSpec> WithSecurityFlags(std::vector<FlagSpec> specs) {
  specs.push_back({"tls-cert", true, "PEM certificate of this process: serve (and dial) over TLS"});
  specs.push_back({"tls-key", true, "PEM private key of --tls-cert"});
  specs.push_back({"tls-ca", true,
                   "PEM CA: servers require client certificates signed by it (mutual TLS), "
                   "clients verify servers by it"});
  specs.push_back({"auth-token-file", true,
                   "file holding the bearer token every call must carry (servers: needs TLS)"});
  return specs;
}

absl::Status ConfigureSecurityFromFlags(const Flags& flags, bool serves) {
  SecurityOptions options;
  options.tls_cert_file = flags.Get("tls-cert", "");
  options.tls_key_file = flags.Get("tls-key", "");
  options.tls_ca_file = flags.Get("tls-ca", "");
  options.auth_token_file = flags.Get("auth-token-file", "");
  if (serves && !options.auth_token_file.empty() && options.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--auth-token-file needs --tls-cert and --tls-key: a bearer token is only accepted "
        "inside TLS");
  }
  return ConfigureSecurity(options);
}

}  // namespace gp
