// tokenizer.json normalizers: NFC, Replace, Sequence (none when null). Each keeps the byte
// origins of NormalizedText in step with the text.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/tokenizer/normalized_text.h"
#include "common/tokenizer/regex.h"
#include "nlohmann/json.hpp"

namespace gp {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual NormalizedText Apply(const NormalizedText& input) const = 0;
};

// Reads a component's `pattern` ({"String": s} or {"Regex": r}); errors name `path`.
absl::StatusOr<Pattern> ReadPattern(const nlohmann::json& node, const std::string& path);

// nullptr for a JSON null; an error naming `path` for unsupported or malformed components.
absl::StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& node,
                                                           const std::string& path);

}  // namespace gp
