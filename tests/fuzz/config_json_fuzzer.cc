// libFuzzer target: arbitrary bytes as a model's config.json. Parsing either fails with a
// status or yields a config whose shapes the loaders can trust: positive sizes, heads that
// divide into groups, one sliding flag per layer.
#include <cstdint>
#include <string>

#include "common/model/config.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = nlohmann::json::parse(reinterpret_cast<const char*>(data),
                                                    reinterpret_cast<const char*>(data) + size,
                                                    nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  absl::StatusOr<gp::ModelConfig> config = gp::ParseModelConfig(json, "config.json");
  if (!config.ok()) return 0;
  const gp::ModelConfig& c = *config;
  if (c.hidden_size <= 0 || c.num_layers <= 0 || c.num_heads <= 0 || c.num_kv_heads <= 0 ||
      c.head_dim <= 0 || c.intermediate_size <= 0 || c.vocab_size <= 0) {
    __builtin_trap();  // a size the weight shapes would be built from
  }
  if (c.num_heads % c.num_kv_heads != 0) __builtin_trap();
  if (static_cast<int64_t>(c.layer_is_sliding.size()) != c.num_layers) __builtin_trap();
  return 0;
}
