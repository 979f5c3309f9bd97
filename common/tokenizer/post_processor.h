// tokenizer.json post-processors: ByteLevel (offset trimming), TemplateProcessing (single
// sequences), Sequence.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/encoding.h"
#include "nlohmann/json.hpp"

namespace gp {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void Apply(bool add_special_tokens, Encoding* encoding) const = 0;
};

absl::StatusOr<std::unique_ptr<PostProcessor>> MakePostProcessor(const nlohmann::json& node,
                                                                 const std::string& path);

}  // namespace gp
