// JSON files with errors that name the file, and typed field access that names the field.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

// Reads a whole file; NotFound if absent, InvalidArgument naming the file for one that cannot
// be read or is a directory. Pipes and devices are read like files.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Reads and parses a JSON file; NotFound if absent, InvalidArgument (with the parser's
// position) if malformed.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Writes `text` through a temporary file and a rename, so an interrupted write never leaves a
// half-written file under `path`.
absl::Status WriteTextFile(const std::string& path, const std::string& text);

// WriteTextFile of `value`, pretty-printed.
absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value);

}  // namespace gp
