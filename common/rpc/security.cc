// TLS credentials and the bearer-token check.
#include "common/rpc/security.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {
namespace {

struct Configuration {
  std::string cert, key, ca, token;  // PEM texts and the token
};

std::mutex& ConfigurationMutex() {
  static std::mutex mutex;
  return mutex;
}
Configuration& CurrentConfiguration() {
  static Configuration configuration;
  return configuration;
}
Configuration Current() {
  std::lock_guard<std::mutex> lock(ConfigurationMutex());
  return CurrentConfiguration();
}

absl::StatusOr<std::string> ReadWhole(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": cannot read"));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": empty"));
  }
  return text.str();
}

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path,
                                    const std::string& kind) {
  GP_ASSIGN_OR_RETURN(std::string text, ReadWhole(flag, path));
  if (!absl::StrContains(text, "-----BEGIN") || !absl::StrContains(text, kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": not a PEM file holding a ", kind));
  }
  return text;
}

// Compares without stopping at the first difference.
bool SameBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return difference == 0;
}

// Every call but health checks must carry the token. Constant-time comparison: the time a
// wrong token takes says nothing about how much of it was right.
class TokenChecker : public grpc::AuthMetadataProcessor {
 public:
  explicit TokenChecker(std::string token) : expected_("Bearer " + std::move(token)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*, OutputMetadata*,
                       OutputMetadata*) override {
    const auto path = metadata.find(":path");
    if (path != metadata.end() &&
        absl::StartsWith(absl::string_view(path->second.data(), path->second.size()),
                         "/grpc.health.v1.Health/")) {
      return grpc::Status::OK;
    }
    const auto given = metadata.find("authorization");
    if (given == metadata.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "this server requires a bearer token (--auth-token-file)");
    }
    if (!SameBytes(absl::string_view(given->second.data(), given->second.size()), expected_)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong bearer token");
    }
    return grpc::Status::OK;
  }

 private:
  const std::string expected_;
};

}  // namespace

absl::Status ConfigureSecurity(const SecurityOptions& options) {
  Configuration configuration;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options.tls_cert_file.empty()) {
    GP_ASSIGN_OR_RETURN(configuration.cert,
                        ReadPem("tls-cert", options.tls_cert_file, "CERTIFICATE"));
    GP_ASSIGN_OR_RETURN(configuration.key, ReadPem("tls-key", options.tls_key_file, "PRIVATE KEY"));
  }
  if (!options.tls_ca_file.empty()) {
    GP_ASSIGN_OR_RETURN(configuration.ca, ReadPem("tls-ca", options.tls_ca_file, "CERTIFICATE"));
  }
  if (!options.auth_token_file.empty()) {
    GP_ASSIGN_OR_RETURN(std::string token, ReadWhole("auth-token-file", options.auth_token_file));
    configuration.token = std::string(absl::StripAsciiWhitespace(token));
    if (configuration.token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth-token-file ", options.auth_token_file, ": empty"));
    }
    for (char c : configuration.token) {
      if (c < 0x21 || c > 0x7e) {  // what an HTTP/2 header value may carry
        return absl::InvalidArgumentError(
            absl::StrCat("--auth-token-file ", options.auth_token_file,
                         ": the token may hold only printable ASCII without spaces"));
      }
    }
  }
  std::lock_guard<std::mutex> lock(ConfigurationMutex());
  CurrentConfiguration() = std::move(configuration);
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials() {
  const Configuration c = Current();
  if (c.cert.empty()) {
    // A token without TLS is refused by the flags' validation (ServiceSecurity); an insecure
    // server cannot check tokens at all.
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options(
      c.ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                   : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = c.ca;
  options.pem_key_cert_pairs.push_back({c.key, c.cert});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(options);
  if (!c.token.empty())
    credentials->SetAuthMetadataProcessor(std::make_shared<TokenChecker>(c.token));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials() {
  const Configuration c = Current();
  if (c.ca.empty() && c.cert.empty() && c.token.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = c.ca;  // empty: the system's roots
  options.pem_private_key = c.key;
  options.pem_cert_chain = c.cert;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  if (!c.token.empty()) {
    credentials =
        grpc::CompositeChannelCredentials(credentials, grpc::AccessTokenCredentials(c.token));
  }
  return credentials;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const grpc::ChannelArguments& arguments) {
  return grpc::CreateCustomChannel(address, ClientCredentials(), arguments);
}

}  // namespace gp
