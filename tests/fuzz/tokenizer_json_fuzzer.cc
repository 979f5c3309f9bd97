// libFuzzer target: arbitrary bytes as a tokenizer.json. Parsing either fails with a status or
// yields a tokenizer that encodes and decodes a fixed text (and the input itself) without
// crashing, hanging or reading out of bounds.
#include <cstdint>
#include <string>

#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  absl::StatusOr<gp::Tokenizer> tokenizer = gp::Tokenizer::FromJson(json);
  if (!tokenizer.ok()) return 0;
  for (const std::string& input :
       {std::string("B -> F, A -> F. Parents of F: A, B."), text.substr(0, 256)}) {
    absl::StatusOr<gp::Encoding> encoding = tokenizer->Encode(input, true);
    if (encoding.ok()) {
      if (encoding->ids.size() != encoding->offsets.size()) __builtin_trap();
      (void)tokenizer->Decode(encoding->ids, false);
    }
  }
  return 0;
}
