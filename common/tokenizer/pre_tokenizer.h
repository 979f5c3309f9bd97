// tokenizer.json pre-tokenizers: Split (string or PCRE2 regex; Isolated, MergedWithPrevious,
// MergedWithNext, Removed, Contiguous; invert), ByteLevel, Metaspace, Sequence. Each turns
// pieces of text into smaller pieces, origins kept.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/normalized_text.h"
#include "nlohmann/json.hpp"

namespace gp {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual std::vector<NormalizedText> Apply(std::vector<NormalizedText> pieces) const = 0;
};

// nullptr for a JSON null; an error naming `path` for unsupported or malformed components.
absl::StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& node,
                                                               const std::string& path);

}  // namespace gp
