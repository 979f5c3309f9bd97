// Addresses to dial, checked when their flag is read: HOST:PORT forms and gRPC targets pass,
// typos are refused naming the flag and the value.
#include "common/rpc/dial_target.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/expect_status.h"

namespace gp {
namespace {

TEST(DialTargetTest, HostPortAndGrpcTargetsPass) {
  for (const std::string target :
       {"127.0.0.1:5000", "localhost:1", "coordinator.graphprobe.svc:65535", "[::1]:5000",
        "[fe80::1%eth0]:80", "dns:///coordinator:5000", "ipv4:127.0.0.1:5000",
        "unix:/run/graphprobe.sock", "unix-abstract:graphprobe"}) {
    EXPECT_TRUE(CheckDialTarget("--coordinator", target).ok()) << target;
  }
}

TEST(DialTargetTest, TyposAreRefusedNamingFlagAndValue) {
  for (const std::string target :
       {"localhost:notaport", "localhost", "127.0.0.1:0", "127.0.0.1:65536", ":5000", "::1:5000",
        "[]:5000", "host:5000:", "host:-1", ""}) {
    EXPECT_TRUE(
        HasStatus(CheckDialTarget("--coordinator", target), absl::StatusCode::kInvalidArgument,
                  "--coordinator '" + target + "': expected HOST:PORT with a port 1..65535"))
        << target;
  }
}

}  // namespace
}  // namespace gp
