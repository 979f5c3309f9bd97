// libFuzzer target: arbitrary bytes as an ablation spec JSON (a spec file, or the spec_json of
// a CreateAblation request). Parsing either fails with a status or yields a spec within the cell
// limit whose canonical JSON parses back to the same spec.
#include <cstdint>
#include <string>

#include "common/ablation/ablation_spec.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = nlohmann::json::parse(reinterpret_cast<const char*>(data),
                                                    reinterpret_cast<const char*>(data) + size,
                                                    nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  absl::StatusOr<gp::AblationSpec> spec = gp::ParseAblationSpec(json, "spec_json", "/models");
  if (!spec.ok()) return 0;
  if (gp::ExpandAblation(*spec).size() > static_cast<size_t>(gp::kMaxAblationCells)) {
    __builtin_trap();
  }
  const nlohmann::json canonical = spec->ToJson();
  absl::StatusOr<gp::AblationSpec> again = gp::ParseAblationSpec(canonical, "canonical", "/");
  if (!again.ok() || again->ToJson() != canonical) __builtin_trap();
  return 0;
}
