// absl::Status <-> grpc::Status at the RPC boundary: the canonical codes are the same numbers,
// the message travels as is.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace gp {

grpc::Status ToGrpcStatus(const absl::Status& status);
// `what` prefixes the message ("extractor 127.0.0.1:5001").
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& what);

}  // namespace gp
