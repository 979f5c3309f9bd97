// `graphprobe attention --model DIR --input IN.safetensors [--out OUT.safetensors] ...`
#include "services/cli/attention_command.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/model/attention_stats.h"
#include "common/model/decoder_model.h"
#include "common/model/tensor_io.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kAttentionFlags = {
    {"model", true,
     "checkpoint directory (config.json + safetensors), or a config.json with --random-init"},
    {"input", true, "safetensors with input_ids and attention_mask, I64 [B, T], right padded"},
    {"out", true, "write attentions F32 [layers, B, heads, T, T] (and logits) here"},
    {"dtype", true, "float32 (default) or bfloat16"},
    {"device", true, "cpu (default), cuda or cuda:N"},
    {"logits", false, "also compute and write logits F32 [B, T, vocab]"},
    {"random-init", false, "random weights of the config's shapes instead of the checkpoint's"},
    {"seed", true, "seed for --random-init (default 0)"},
    {"kernel", true,
     "explicit (default) or fused: the value mix through the fused scaled-dot-product kernel "
     "and every row's probabilities computed beside it (checks the path GPU extraction takes)"},
    {"help", false, "show this help"},
};

absl::StatusOr<DecoderModel> BuildModel(const Flags& flags, const ModelOptions& options) {
  GP_ASSIGN_OR_RETURN(std::string model, flags.Required("model"));
  if (!flags.Has("random-init")) return DecoderModel::Load(model, options);
  const bool is_json = model.size() > 5 && model.substr(model.size() - 5) == ".json";
  const std::string config_path = is_json ? model : model + "/config.json";
  GP_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(config_path));
  GP_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(json, config_path));
  GP_ASSIGN_OR_RETURN(const uint64_t seed, flags.Seed("seed", 0));
  return DecoderModel::RandomInit(config, options, seed);
}

void PrintSummary(const DecoderModel& model, const at::Tensor& attentions, const at::Tensor& mask,
                  double forward_ms) {
  const ModelConfig& c = model.config();
  at::Tensor lengths = mask.sum(1);
  std::vector<int64_t> lens(lengths.data_ptr<int64_t>(),
                            lengths.data_ptr<int64_t>() + lengths.numel());
  std::cout << absl::StrFormat(
      "%s model: %d layers x %d heads (%d kv heads), head_dim %d, %s on %s\n", c.model_type,
      c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c10::toString(model.options().dtype),
      model.options().device.str());
  std::cout << absl::StrFormat("batch %d, lengths %s; forward %.1f ms\n", mask.size(0),
                               absl::StrJoin(lens, " "), forward_ms);
  std::cout << "layer  head  max-prob  entropy  first-token  mean-distance\n";
  for (const HeadStatistics& s : SummarizeAttention(attentions, mask)) {
    std::cout << absl::StrFormat("%5d  %4d  %8.3f  %7.3f  %11.3f  %13.2f\n", s.layer, s.head,
                                 s.mean_max, s.entropy, s.first_token, s.mean_distance);
  }
}

absl::Status RunAttention(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(ModelOptions options,
                      ParseModelOptions(flags.Get("dtype", "float32"), flags.Get("device", "cpu")));
  GP_ASSIGN_OR_RETURN(std::string input_path, flags.Required("input"));
  GP_ASSIGN_OR_RETURN(auto inputs, ReadTensors(input_path));
  for (const char* name : {"input_ids", "attention_mask"}) {
    if (!inputs.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat(input_path, ": missing tensor '", name, "'"));
    }
  }
  GP_ASSIGN_OR_RETURN(DecoderModel model, BuildModel(flags, options));

  c10::InferenceMode inference;
  ForwardOptions forward;
  forward.capture = ForwardOptions::Capture::kAll;
  forward.logits = flags.Has("logits");
  const std::string kernel = flags.Get("kernel", "explicit");
  if (kernel == "fused") {
    // Every position's row over every key is the full map, computed the fused pass's way.
    const at::Tensor& ids = inputs["input_ids"];
    if (ids.dim() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(input_path, ": input_ids must be [B, T], not ", ids.dim(), "-D"));
    }
    forward.capture = ForwardOptions::Capture::kPositionRows;
    forward.capture_positions = at::arange(ids.size(1), at::kLong).repeat({ids.size(0), 1});
    forward.attention_kernel = AttentionKernel::kFused;
  } else if (kernel != "explicit") {
    return absl::InvalidArgumentError(
        absl::StrCat("--kernel: '", kernel, "' is neither explicit nor fused"));
  }
  const auto start = std::chrono::steady_clock::now();
  auto out = model.Forward(inputs["input_ids"], inputs["attention_mask"], forward);
  if (!out.ok()) return Annotate(out.status(), input_path);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  at::Tensor attentions = at::stack(out->attentions).to(at::kCPU);  // [L, B, H, T, T]

  if (flags.Has("out")) {
    std::vector<std::pair<std::string, at::Tensor>> tensors = {{"attentions", attentions}};
    if (forward.logits) tensors.emplace_back("logits", out->logits);
    const std::string out_path = flags.Get("out", "");
    GP_RETURN_IF_ERROR(
        WriteTensors(out_path, tensors,
                     {{"layout", "attentions [layers,batch,heads,T,T]; logits [batch,T,vocab]"},
                      {"model", flags.Get("model", "")},
                      {"dtype", flags.Get("dtype", "float32")}}));
    std::cout << "wrote " << out_path << "\n";
  }
  PrintSummary(model, attentions, inputs["attention_mask"], ms);
  return absl::OkStatus();
}

}  // namespace

int RunAttentionCommand(const std::vector<std::string>& args) {
  return RunSubcommand(
      "attention", "graphprobe attention --model DIR --input IN.safetensors [flags]",
      kAttentionFlags, args, std::cout, [&](const Flags& flags) { return RunAttention(flags); });
}

}  // namespace gp
