// HasStatus(call, code, part): the call failed with that status code and its message contains
// `part` (the file, field or value it names). Error tests assert what went wrong, not only
// that something did.
//   EXPECT_TRUE(HasStatus(ParseFeatureMode("mean", {}), absl::StatusCode::kInvalidArgument,
//                         "unknown feature mode 'mean'"));
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gp {

inline ::testing::AssertionResult HasStatus(const absl::Status& status, absl::StatusCode code,
                                            const std::string& part) {
  if (status.code() == code && std::string(status.message()).find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << status << ", expected " << absl::StatusCodeToString(code) << " containing '"
         << part << "'";
}

template <typename T>
::testing::AssertionResult HasStatus(const absl::StatusOr<T>& result, absl::StatusCode code,
                                     const std::string& part) {
  if (result.ok()) return ::testing::AssertionFailure() << "the call succeeded";
  return HasStatus(result.status(), code, part);
}

}  // namespace gp
