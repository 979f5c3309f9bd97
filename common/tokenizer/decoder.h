// tokenizer.json decoders, for round trips: ByteLevel; Replace, ByteFallback, Fuse; Metaspace;
// Sequence.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gp {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // tokenizers' decode_chain: token strings in, transformed token strings out.
  virtual std::vector<std::string> Apply(std::vector<std::string> tokens) const = 0;
};

absl::StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& node,
                                                     const std::string& path);

// Bytes to text, each maximal invalid UTF-8 subsequence replaced by U+FFFD (Rust's
// String::from_utf8_lossy, which tokenizers uses).
std::string LossyUtf8(const std::string& bytes);

}  // namespace gp
