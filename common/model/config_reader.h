// Typed access to config.json fields, each error naming the file and the field.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace gp {

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& json, std::string path)
      : json_(json), path_(std::move(path)) {}

  bool Has(const std::string& field) const {
    return json_.contains(field) && !json_[field].is_null();
  }
  const nlohmann::json& json() const { return json_; }
  const std::string& path() const { return path_; }

  absl::StatusOr<int64_t> PositiveInt(const std::string& field) const;
  absl::StatusOr<int64_t> PositiveInt(const std::string& field, int64_t fallback) const;
  absl::StatusOr<double> Number(const std::string& field, double fallback) const;
  absl::StatusOr<std::optional<double>> OptionalNumber(const std::string& field) const;
  absl::StatusOr<bool> Bool(const std::string& field, bool fallback) const;
  absl::StatusOr<std::string> String(const std::string& field, const std::string& fallback) const;

  absl::Status Error(const std::string& field, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": field '", field, "' ", what));
  }

 private:
  const nlohmann::json& json_;
  std::string path_;
};

}  // namespace gp
