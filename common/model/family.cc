// Registry of the model families graphprobe runs.
#include "common/model/family.h"

#include <array>
#include <string>

#include "absl/strings/str_join.h"

namespace gp {
namespace {

std::array<const ModelFamily*, 3> Families() {
  return {&LlamaFamily(), &Qwen2Family(), &Gemma2Family()};
}

}  // namespace

const ModelFamily* FindModelFamily(std::string_view model_type) {
  for (const ModelFamily* family : Families()) {
    if (family->model_type == model_type) return family;
  }
  return nullptr;
}

std::string SupportedModelTypes() {
  std::vector<std::string> names;
  for (const ModelFamily* family : Families()) names.emplace_back(family->model_type);
  return absl::StrJoin(names, ", ");
}

}  // namespace gp
