// Errors for tokenizer.json that name the JSON path of the offending component.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace gp {

inline absl::Status TokenizerJsonError(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", path, ": ", what));
}

inline absl::Status UnsupportedComponent(const std::string& path, const nlohmann::json& node) {
  const std::string type =
      node.is_object() && node.contains("type") ? node["type"].dump() : node.dump();
  return TokenizerJsonError(path, absl::StrCat("unsupported type ", type));
}

// The string under `key`, or an error naming path.key.
inline absl::StatusOr<std::string> StringField(const nlohmann::json& node, const std::string& path,
                                               const std::string& key) {
  if (!node.is_object() || !node.contains(key) || !node[key].is_string()) {
    return TokenizerJsonError(path + "." + key, "missing or not a string");
  }
  return node[key].get<std::string>();
}

}  // namespace gp
