// absl::Status <-> grpc::Status at the RPC boundary: the canonical codes are the same numbers,
// the message travels as is.
#pragma once

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace gp {

grpc::Status ToGrpcStatus(const absl::Status& status);
// `what` prefixes the message ("extractor 127.0.0.1:5001").
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& what);

// A client call's deadline, `seconds` from now.
void SetDeadline(grpc::ClientContext* context, double seconds);

}  // namespace gp
