// Hub-layout checkpoint writing.
#include "common/lm/hub_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/tensor_io.h"

namespace gp {
absl::Status SaveHubCheckpoint(const std::string& dir, const DecoderModel& model,
                               const HubCheckpoint& files) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  std::vector<std::pair<std::string, at::Tensor>> weights;
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, p] : model.NamedParameters()) {
      weights.emplace_back(name, p.detach().to(at::kBFloat16));
    }
  }
  const std::filesystem::path root(dir);
  GP_RETURN_IF_ERROR(
      WriteTensors((root / "model.safetensors").string(), weights, {{"format", "pt"}}));
  GP_RETURN_IF_ERROR(WriteJsonFile((root / "config.json").string(), files.config));
  GP_RETURN_IF_ERROR(WriteJsonFile((root / "tokenizer.json").string(), files.tokenizer));
  return WriteTextFile((root / "README.md").string(), files.model_card);
}

}  // namespace gp
