// JSON file reading and writing with errors that name the file.
#include "common/core/json_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"

namespace gp {

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    auto msg = absl::StrCat(path, ": cannot open: ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(msg) : absl::InvalidArgumentError(msg);
  }
  // A directory opens, and reads as nothing: "invalid JSON: unexpected end of input" said
  // nothing of the real mistake. (Pipes are fine: --spec <(jq ...) reads like a file.)
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  return buffer.str();
}

absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  GP_ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON: ", e.what()));
  }
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  const std::string tmp_path = path + ".tmp";
  {
    std::ofstream out(tmp_path, std::ios::trunc);
    if (!out)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
    out << text;
    if (!out) return absl::ResourceExhaustedError(absl::StrCat(path, ": write failed"));
  }
  if (std::rename(tmp_path.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat(path, ": cannot rename: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& value) {
  return WriteTextFile(path, value.dump(2) + "\n");
}

}  // namespace gp
