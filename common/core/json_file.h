// JSON files with errors that name the file, and typed field access that names the field.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

// Reads and parses a JSON file; NotFound if absent, InvalidArgument (with the parser's
// position) if malformed.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Writes `value` (pretty-printed) through a temporary file and a rename.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value);

}  // namespace gp
