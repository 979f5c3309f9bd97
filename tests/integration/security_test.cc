// TLS and bearer tokens for real: a coordinator process with a server certificate, a CA for
// client certificates and a token file, reached by this test's own channels and by the
// graphprobe command. The right certificate and token get in; no token, a wrong token, a
// client certificate of another CA or plaintext do not; health checks need no token; the
// token never reaches the logs; a server refuses a token without TLS.
#include "common/rpc/security.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/rpc/server.h"
#include "graphprobe/v1/coordinator.grpc.pb.h"
#include "tests/integration/service_process.h"
#include "tests/integration/shell_command.h"

namespace gp {
namespace {

namespace fs = std::filesystem;
namespace pb = graphprobe::v1;

using testing::CommandResult;

// `command` through the shell, its stderr with its stdout.
CommandResult RunShell(const std::string& command) {
  return testing::RunShellCommand(command + " 2>&1");
}

constexpr char kToken[] = "s3cret-token-of-the-test";

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("gp_security_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    // Two CAs; the server's certificate (for 127.0.0.1) and a client's from the first, an
    // intruder's client certificate from the second.
    const std::string script = R"(set -e
cd ")" + dir_.string() + R"("
for ca in ca other-ca; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.pem -days 2 -subj "/CN=$ca"
done
sign() {  # name ca san
  openssl req -newkey rsa:2048 -nodes -keyout $1.key -out $1.csr -subj "/CN=$1"
  printf 'subjectAltName=%s\n' "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 2 \
    -extfile $1.ext
}
sign server ca IP:127.0.0.1
sign client ca DNS:client
sign intruder other-ca DNS:intruder
)";
    std::ofstream(dir_ / "make-certs.sh") << script;
    const CommandResult made = RunShell("bash " + (dir_ / "make-certs.sh").string());
    ASSERT_EQ(made.exit_code, 0) << made.output;
    std::ofstream(dir_ / "token") << kToken << "\n";
    std::ofstream(dir_ / "wrong-token") << "not-the-token\n";
  }
  static void TearDownTestSuite() {
    ASSERT_TRUE(ConfigureSecurity({}).ok());
    fs::remove_all(dir_);
  }
  void TearDown() override { ASSERT_TRUE(ConfigureSecurity({}).ok()); }

  static std::string File(const std::string& name) { return (dir_ / name).string(); }
  // The coordinator behind mutual TLS and the token.
  static std::vector<std::string> ServerFlags() {
    return {"--state",          File("state"), "--tls-cert",   File("server.pem"),  "--tls-key",
            File("server.key"), "--tls-ca",    File("ca.pem"), "--auth-token-file", File("token")};
  }
  static SecurityOptions Client(const std::string& who, const std::string& token) {
    return {who.empty() ? "" : File(who + ".pem"), who.empty() ? "" : File(who + ".key"),
            File("ca.pem"), token.empty() ? "" : File(token)};
  }
  // ListAblations through a fresh channel with the process's current credentials.
  static grpc::Status List(const std::string& address) {
    auto stub = pb::Coordinator::NewStub(MakeChannel(address));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::ListAblationsResponse response;
    return stub->ListAblations(&context, pb::ListAblationsRequest(), &response);
  }

  static fs::path dir_;
};
fs::path SecurityTest::dir_;

TEST_F(SecurityTest, OnlyTheRightCertificateAndTokenGetIn) {
  testing::ServiceProcess coordinator(GP_COORDINATOR_BINARY, ServerFlags());
  ASSERT_FALSE(coordinator.address().empty());

  ASSERT_TRUE(ConfigureSecurity(Client("client", "token")).ok());
  const grpc::Status allowed = List(coordinator.address());
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();

  ASSERT_TRUE(ConfigureSecurity(Client("client", "wrong-token")).ok());
  grpc::Status status = List(coordinator.address());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "wrong bearer token");

  ASSERT_TRUE(ConfigureSecurity(Client("client", "")).ok());
  status = List(coordinator.address());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("bearer token"), std::string::npos);

  // Health checks need TLS but no token (probes have none).
  EXPECT_TRUE(CheckHealth(coordinator.address(), 10).ok());

  // A client certificate from another CA, or none at all: the handshake fails.
  SecurityOptions intruder = Client("client", "token");
  intruder.tls_cert_file = File("intruder.pem");
  intruder.tls_key_file = File("intruder.key");
  ASSERT_TRUE(ConfigureSecurity(intruder).ok());
  EXPECT_EQ(List(coordinator.address()).error_code(), grpc::StatusCode::UNAVAILABLE);
  ASSERT_TRUE(ConfigureSecurity(Client("", "token")).ok());
  EXPECT_EQ(List(coordinator.address()).error_code(), grpc::StatusCode::UNAVAILABLE);
  // Plaintext is not spoken at all.
  ASSERT_TRUE(ConfigureSecurity({}).ok());
  EXPECT_EQ(List(coordinator.address()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, TheCommandLineCarriesCertificatesAndTokens) {
  const std::string log = File("coordinator.log");
  std::vector<std::string> flags = ServerFlags();
  flags.push_back("--metrics-listen");
  flags.push_back("127.0.0.1:0");
  // Its stderr (the log) to a file, to look for the token afterwards.
  const int saved = dup(STDERR_FILENO);
  const int file = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(file, STDERR_FILENO);
  auto coordinator = std::make_unique<testing::ServiceProcess>(GP_COORDINATOR_BINARY, flags);
  dup2(saved, STDERR_FILENO);
  close(file);
  close(saved);
  ASSERT_FALSE(coordinator->address().empty());

  const std::string tls = " --tls-ca " + File("ca.pem") + " --tls-cert " + File("client.pem") +
                          " --tls-key " + File("client.key");
  const std::string list =
      std::string(GP_GRAPHPROBE_BINARY) + " list --coordinator " + coordinator->address() + tls;
  CommandResult result = RunShell(list + " --auth-token-file " + File("token"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  result = RunShell(list + " --auth-token-file " + File("wrong-token"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("wrong bearer token"), std::string::npos) << result.output;
  // The token also comes from the environment, as every flag of these commands does.
  result = RunShell("GRAPHPROBE_AUTH_TOKEN_FILE=" + File("token") + " " + list);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // The service binary's own health probe: TLS, no token.
  result = RunShell(std::string(GP_COORDINATOR_BINARY) + " --health-check " +
                    coordinator->address() + tls);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("SERVING"), std::string::npos);

  EXPECT_EQ(coordinator->Terminate(), 0);
  coordinator.reset();
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("event=serving"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find(kToken), std::string::npos) << "the token reached the log";
}

TEST_F(SecurityTest, BadSecurityFlagsFailNamingTheProblem) {
  const std::string coordinator =
      std::string(GP_COORDINATOR_BINARY) + " --listen 127.0.0.1:0 --state " + File("state2");
  CommandResult result = RunShell(coordinator + " --auth-token-file " + File("token"));
  EXPECT_EQ(result.exit_code, 2);  // a bad flag
  EXPECT_NE(result.output.find("--auth-token-file needs --tls-cert and --tls-key"),
            std::string::npos)
      << result.output;
  result = RunShell(coordinator + " --tls-cert " + File("server.pem"));
  EXPECT_EQ(result.exit_code, 2);  // a bad flag
  EXPECT_NE(result.output.find("--tls-cert and --tls-key go together"), std::string::npos)
      << result.output;
  result =
      RunShell(coordinator + " --tls-cert " + File("token") + " --tls-key " + File("server.key"));
  EXPECT_EQ(result.exit_code, 2);  // a bad flag
  EXPECT_NE(result.output.find("--tls-cert " + File("token") + ": not a PEM file"),
            std::string::npos)
      << result.output;
  result = RunShell(coordinator + " --tls-cert " + File("server.pem") + " --tls-key " +
                    File("no-such.key"));
  EXPECT_EQ(result.exit_code, 2);  // a bad flag
  EXPECT_NE(result.output.find("no-such.key: cannot read"), std::string::npos) << result.output;
  std::ofstream(File("blank-token")) << " \n";
  EXPECT_EQ(ConfigureSecurity({"", "", "", File("blank-token")}).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gp
