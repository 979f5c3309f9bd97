// Typed config.json field access with errors naming file and field.
#include "common/model/config_reader.h"

namespace gp {

absl::StatusOr<int64_t> ConfigReader::PositiveInt(const std::string& field) const {
  if (!Has(field)) return Error(field, "is missing");
  const auto& value = json_[field];
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
    return Error(field, absl::StrCat("must be a positive integer, got ", value.dump()));
  }
  return value.get<int64_t>();
}

absl::StatusOr<int64_t> ConfigReader::PositiveInt(const std::string& field,
                                                  int64_t fallback) const {
  if (!Has(field)) return fallback;
  return PositiveInt(field);
}

absl::StatusOr<double> ConfigReader::Number(const std::string& field, double fallback) const {
  if (!Has(field)) return fallback;
  const auto& value = json_[field];
  if (!value.is_number()) return Error(field, absl::StrCat("must be a number, got ", value.dump()));
  return value.get<double>();
}

absl::StatusOr<std::optional<double>> ConfigReader::OptionalNumber(const std::string& field) const {
  if (!Has(field)) return std::optional<double>();
  const auto& value = json_[field];
  if (!value.is_number())
    return Error(field, absl::StrCat("must be a number or null, got ", value.dump()));
  return std::optional<double>(value.get<double>());
}

absl::StatusOr<bool> ConfigReader::Bool(const std::string& field, bool fallback) const {
  if (!Has(field)) return fallback;
  const auto& value = json_[field];
  if (!value.is_boolean())
    return Error(field, absl::StrCat("must be true or false, got ", value.dump()));
  return value.get<bool>();
}

absl::StatusOr<std::string> ConfigReader::String(const std::string& field,
                                                 const std::string& fallback) const {
  if (!Has(field)) return fallback;
  const auto& value = json_[field];
  if (!value.is_string()) return Error(field, absl::StrCat("must be a string, got ", value.dump()));
  return value.get<std::string>();
}

}  // namespace gp
