// Status propagation macros for absl::Status / absl::StatusOr (Debian's Abseil 20220623 has
// no status_macros), plus helpers that build errors naming the file and field at fault.
#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define GP_CONCAT_INNER_(a, b) a##b
#define GP_CONCAT_(a, b) GP_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define GP_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status gp_status_ = (expr);      \
    if (!gp_status_.ok()) return gp_status_; \
  } while (0)

// `GP_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a StatusOr or returns its error.
#define GP_ASSIGN_OR_RETURN(lhs, rexpr) \
  GP_ASSIGN_OR_RETURN_IMPL_(GP_CONCAT_(gp_statusor_, __LINE__), lhs, rexpr)
#define GP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

namespace gp {

// Prefixes an error with where it happened ("model/config.json: ..."), keeping its code.
inline absl::Status Annotate(const absl::Status& status, const std::string& where) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
}

}  // namespace gp
