// libFuzzer target: every request a service checks before it does any work, decoded from
// arbitrary bytes (the first byte picks the request, the rest is its protobuf encoding):
//   0 Extract      CheckExtractRequest, ResolveModelPath under a model root with a symlink out,
//                  PrepareRequestPrompt through graph-toy's tokenizer
//   1 BuildDataset DatasetSpecsOf (and back: BuildDatasetRequestOf gives the same datasets)
//   2 CreateJob    CheckCreateTrainingJobRequest (and back: ToProto reads the same options)
//   3 CreateAblation the spec_json as the coordinator parses it (and its canonical form again)
// A request is refused with a status or accepted with values the service can act on; anything
// else traps. The other RPCs take ids that are only looked up in maps.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/ablation/ablation_spec.h"
#include "common/ablation/dataset_spec.h"
#include "common/probe/train_options.h"
#include "graphprobe/v1/coordinator.pb.h"
#include "nlohmann/json.hpp"
#include "services/extractor/extract_request.h"
#include "services/features/dataset_request.h"
#include "services/trainer/training_request.h"

namespace {

namespace fs = std::filesystem;

// A model root holding one model (m/config.json), a link to it inside the root and a link to
// `/` that leaves it.
const std::string& ModelRoot() {
  static const std::string root = [] {
    const fs::path dir = fs::temp_directory_path() / ("gp_fuzz_root_" + std::to_string(getpid()));
    fs::create_directories(dir / "m");
    std::ofstream(dir / "m" / "config.json") << "{}";
    std::error_code ignored;
    fs::create_directory_symlink("m", dir / "inside", ignored);
    fs::create_directory_symlink("/", dir / "escape", ignored);
    return fs::canonical(dir).string();
  }();
  return root;
}

const gp::Tokenizer& GraphToyTokenizer() {
  static const gp::Tokenizer tokenizer =
      *gp::Tokenizer::FromFile(std::string(GP_SOURCE_DIR) + "/models/graph-toy/tokenizer.json");
  return tokenizer;
}

void Extract(const std::string& bytes) {
  graphprobe::v1::ExtractRequest request;
  if (!request.ParseFromString(bytes)) return;
  absl::StatusOr<gp::ExtractReply> reply = gp::CheckExtractRequest(request, 64);
  if (!reply.ok()) return;
  for (const gp::FeatureOptions& mode : reply->pool) {
    // A mode's name parses back to the same mode: what a client names is what gets pooled.
    absl::StatusOr<gp::FeatureOptions> again = gp::ParseFeatureMode(gp::FeatureModeName(mode), {});
    if (!again.ok() || gp::FeatureModeName(*again) != gp::FeatureModeName(mode)) __builtin_trap();
  }
  absl::StatusOr<std::string> path = gp::ResolveModelPath(ModelRoot(), request.model().path());
  if (path.ok() && *path != ModelRoot() && path->rfind(ModelRoot() + "/", 0) != 0) {
    __builtin_trap();  // a model path that left the root
  }
  constexpr int64_t kVocab = 652;  // graph-toy's
  for (const graphprobe::v1::ExtractPrompt& prompt : request.prompts()) {
    absl::StatusOr<gp::PreparedPrompt> prepared =
        gp::PrepareRequestPrompt(prompt, GraphToyTokenizer(), kVocab);
    if (!prepared.ok()) continue;
    const int tokens = static_cast<int>(prepared->ids.size());
    for (size_t k = 0; k < prepared->positions.size(); ++k) {
      const int position = prepared->positions[k];
      if (position < 0 || position >= tokens) __builtin_trap();
      if (k > 0 && position <= prepared->positions[k - 1]) __builtin_trap();
    }
    for (const auto& node : prepared->mentions) {
      for (const auto& mention : node) {
        for (int t : mention) {
          if (t < 0 || t >= tokens) __builtin_trap();
        }
      }
    }
    for (int32_t id : prepared->ids) {
      if (id < 0 || id >= kVocab) __builtin_trap();
    }
  }
}

void BuildDataset(const std::string& bytes) {
  graphprobe::v1::BuildDatasetRequest request;
  if (!request.ParseFromString(bytes)) return;
  absl::StatusOr<std::vector<gp::DatasetSpec>> specs = gp::DatasetSpecsOf(request);
  if (!specs.ok()) return;
  if (specs->empty()) __builtin_trap();
  absl::StatusOr<std::vector<gp::DatasetSpec>> again =
      gp::DatasetSpecsOf(gp::BuildDatasetRequestOf(*specs));
  if (!again.ok() || again->size() != specs->size()) __builtin_trap();
  for (size_t i = 0; i < specs->size(); ++i) {
    if (gp::ContentKey((*again)[i]) != gp::ContentKey((*specs)[i])) __builtin_trap();
  }
}

void CreateTrainingJob(const std::string& bytes) {
  graphprobe::v1::CreateTrainingJobRequest request;
  if (!request.ParseFromString(bytes)) return;
  absl::StatusOr<gp::TrainOptions> options = gp::CheckCreateTrainingJobRequest(request);
  if (!options.ok()) return;
  if (!gp::CheckTrainOptions(*options).ok()) __builtin_trap();
  const graphprobe::v1::TrainingOptions proto = gp::ToProto(*options);
  absl::StatusOr<gp::TrainOptions> again = gp::TrainOptionsOf(proto);
  if (!again.ok() || gp::ToProto(*again).SerializeAsString() != proto.SerializeAsString()) {
    __builtin_trap();
  }
}

void CreateAblation(const std::string& bytes) {
  graphprobe::v1::CreateAblationRequest request;
  if (!request.ParseFromString(bytes)) return;
  const nlohmann::json json = nlohmann::json::parse(request.spec_json(), nullptr, false);
  if (json.is_discarded()) return;
  absl::StatusOr<gp::AblationSpec> spec = gp::ParseAblationSpec(json, "spec_json", "");
  if (!spec.ok()) return;
  if (gp::ExpandAblation(*spec).size() > static_cast<size_t>(gp::kMaxAblationCells)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      Extract(bytes);
      break;
    case 1:
      BuildDataset(bytes);
      break;
    case 2:
      CreateTrainingJob(bytes);
      break;
    case 3:
      CreateAblation(bytes);
      break;
  }
  return 0;
}
