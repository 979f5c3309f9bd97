// Transport security and authentication for every gRPC server and client of a process: TLS
// (mutual when a CA is given) and a bearer token. A process configures it once from its flags
// (`--tls-cert`, `--tls-key`, `--tls-ca`, `--auth-token-file`) before it starts a server or
// opens a channel; everything after uses it. Without configuration both sides are plaintext
// without a token (loopback use, tests, the one-process `graphprobe run`).
//
// Servers: with a certificate and key they speak TLS only; with a CA as well they require a
// client certificate signed by it; with a token file every call must carry
// "authorization: Bearer TOKEN" (UNAUTHENTICATED otherwise), except the health service, which
// probes reach without credentials. A token travels only inside TLS, so a token needs a
// certificate and key on servers and a CA (or the system roots) on clients.
// Clients: TLS as soon as a CA, certificate or token is configured (the CA verifies the
// server; certificate and key are presented for mutual TLS), the token sent on every call.
// The token is never logged and never put in metrics or errors.
//
//   SecurityOptions options{"server.pem", "server.key", "ca.pem", "token"};
//   GP_RETURN_IF_ERROR(ConfigureSecurity(options));
//   auto channel = MakeChannel("coordinator:50050");
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace gp {

struct SecurityOptions {
  std::string tls_cert_file;    // PEM certificate chain of this process
  std::string tls_key_file;     // PEM private key of that certificate
  std::string tls_ca_file;      // PEM CA: servers verify clients by it, clients the server
  std::string auth_token_file;  // the bearer token (surrounding whitespace ignored)

  bool empty() const {
    return tls_cert_file.empty() && tls_key_file.empty() && tls_ca_file.empty() &&
           auth_token_file.empty();
  }
};

// Reads and checks the files (InvalidArgument naming the file or the missing flag) and makes
// them this process's configuration. Called again, it replaces the configuration.
absl::Status ConfigureSecurity(const SecurityOptions& options);

// Credentials for servers started from now on.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials();
// Credentials for channels opened from now on.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials();
// A channel to `address` with ClientCredentials.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const grpc::ChannelArguments& arguments = {});

}  // namespace gp
