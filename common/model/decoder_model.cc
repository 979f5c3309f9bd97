// The decoder skeleton every family shares: embeddings, N x (attention + MLP) with the
// family's norm placement, final norm, optional LM head, with input checks and error mapping.
#include "common/model/decoder_model.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/model/attention.h"
#include "common/model/device_copy.h"
#include "common/model/linear.h"
#include "common/model/rope.h"
#include "common/model/weight_loader.h"

namespace gp {
namespace {

// RMSNorm in float32, returned in the weights' dtype (the input of the next matmul).
at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, const ModelConfig& config) {
  at::Tensor xf = CastTo(x, at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config.rms_norm_eps);
  // Both scale in float32 and round once (transformers' Llama rounds before scaling too; in
  // float32 mode the two agree exactly). A bfloat16 weight is widened exactly inside the
  // product; Gemma's (1 + w) is formed in float32 first.
  const at::Tensor scaled =
      config.norm_weight_offset_one ? normed * (CastTo(weight, at::kFloat) + 1.0) : normed * weight;
  return CastTo(scaled, weight.scalar_type());
}

at::Tensor Activate(const at::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kGelu:
      return at::gelu(x);
  }
  return x;
}

// The gating runs in float32 so bfloat16 mode rounds once per matmul input, not per op (the
// bfloat16 up projection is widened exactly inside the product).
at::Tensor Mlp(const at::Tensor& x, const LayerWeights& w, const ModelConfig& config) {
  at::Tensor gate =
      Activate(CastTo(Linear(x, w.gate_proj, w.gate_bias), at::kFloat), config.activation);
  const at::Tensor gated = gate * Linear(x, w.up_proj, w.up_bias);
  return Linear(CastTo(gated, x.scalar_type()), w.down_proj, w.down_bias);
}

// What checking the inputs on the host learns about them.
struct CheckedInputs {
  bool padded = false;  // some row of the mask ends in padding
};

absl::StatusOr<CheckedInputs> CheckInputs(const at::Tensor& ids, const at::Tensor& mask,
                                          const ForwardOptions& options,
                                          const ModelConfig& config) {
  if (!ids.defined() || ids.dim() != 2 || ids.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError("input_ids must be an int64 tensor [batch, length]");
  }
  if (!mask.defined() || mask.sizes() != ids.sizes() || mask.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError(
        absl::StrCat("attention_mask must be int64 with the shape of input_ids [", ids.size(0),
                     ", ", ids.size(1), "]"));
  }
  if (ids.size(0) == 0 || ids.size(1) == 0) return absl::InvalidArgumentError("input_ids is empty");
  at::Tensor ids_cpu = ids.to(at::kCPU), mask_cpu = mask.to(at::kCPU);
  const int64_t min_id = ids_cpu.min().item<int64_t>(), max_id = ids_cpu.max().item<int64_t>();
  if (min_id < 0 || max_id >= config.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("input_ids holds ", min_id < 0 ? min_id : max_id,
                                                   ", outside the vocabulary [0, ",
                                                   config.vocab_size, ")"));
  }
  CheckedInputs checked;
  auto m = mask_cpu.accessor<int64_t, 2>();
  for (int64_t b = 0; b < mask_cpu.size(0); ++b) {
    bool seen_padding = false;
    for (int64_t t = 0; t < mask_cpu.size(1); ++t) {
      if (m[b][t] != 0 && m[b][t] != 1) {
        return absl::InvalidArgumentError(absl::StrCat("attention_mask[", b, ", ", t, "] is ",
                                                       m[b][t], "; only 0 and 1 are allowed"));
      }
      if (m[b][t] == 0) seen_padding = true;
      if (m[b][t] == 1 && seen_padding) {
        return absl::InvalidArgumentError(absl::StrCat(
            "attention_mask row ", b, " is not right-padded (a 1 after a 0 at position ", t, ")"));
      }
    }
    if (m[b][0] == 0)
      return absl::InvalidArgumentError(absl::StrCat("attention_mask row ", b, " has no tokens"));
    checked.padded = checked.padded || seen_padding;
  }
  if (options.capture == ForwardOptions::Capture::kPositions ||
      options.capture == ForwardOptions::Capture::kPositionRows) {
    const at::Tensor& p = options.capture_positions;
    if (!p.defined() || p.dim() != 2 || p.scalar_type() != at::kLong || p.size(0) != ids.size(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("capture_positions must be int64 [batch=", ids.size(0), ", K]"));
    }
    if (p.numel() > 0 && (p.min().item<int64_t>() < 0 || p.max().item<int64_t>() >= ids.size(1))) {
      return absl::InvalidArgumentError(
          absl::StrCat("capture_positions must lie in [0, ", ids.size(1), ")"));
    }
  }
  return checked;
}

// ForwardOptions::attention_kernel resolved for this pass (see AttentionKernel).
bool UseFusedAttention(AttentionKernel kernel, const ModelConfig& config, const at::Device& device,
                       const AttentionCapture* capture) {
  if (kernel == AttentionKernel::kExplicit || !FusedAttentionApplies(config, capture)) {
    return false;
  }
  if (kernel == AttentionKernel::kFused) return true;
  return device.is_cuda() && !at::GradMode::is_enabled();
}

}  // namespace

absl::Status ForwardFailure(const c10::Error& error) {
  // Out of memory is the expected failure here; anything else is a bug worth reporting whole.
  const std::string what = error.what_without_backtrace();
  if (what.find("alloc") != std::string::npos || what.find("out of memory") != std::string::npos) {
    return absl::ResourceExhaustedError(absl::StrCat("forward pass ran out of memory: ", what));
  }
  return absl::InternalError(absl::StrCat("forward pass failed: ", what));
}

absl::StatusOr<ModelOptions> ParseModelOptions(const std::string& dtype,
                                               const std::string& device) {
  ModelOptions options;
  if (dtype == "float32") {
    options.dtype = at::kFloat;
  } else if (dtype == "bfloat16") {
    options.dtype = at::kBFloat16;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype '", dtype, "': expected float32 or bfloat16"));
  }
  if (device == "cpu") return options;
  if (device.rfind("cuda", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", device, "': expected cpu, cuda or cuda:N"));
  }
  if (!at::hasCUDA()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", device, "': this libtorch build or machine has no CUDA device"));
  }
  try {
    options.device = at::Device(device);
  } catch (const c10::Error&) {
    return absl::InvalidArgumentError(absl::StrCat("device '", device, "': not a device name"));
  }
  return options;
}

DecoderModel::DecoderModel(ModelConfig config, ModelOptions options, ModelWeights weights)
    : config_(std::move(config)), options_(options), weights_(std::move(weights)) {
  inv_freq_full_ = InverseFrequencies(config_.rope_full, config_.head_dim, options_.device);
  inv_freq_sliding_ = InverseFrequencies(config_.rope_sliding, config_.head_dim, options_.device);
}

absl::StatusOr<DecoderModel> DecoderModel::Load(const std::string& dir,
                                                const ModelOptions& options) {
  GP_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(dir));
  GP_ASSIGN_OR_RETURN(auto checkpoint, SafetensorsCheckpoint::Open(dir));
  try {
    GP_ASSIGN_OR_RETURN(ModelWeights weights, LoadWeights(checkpoint, config, options));
    return DecoderModel(std::move(config), options, std::move(weights));
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat(dir, ": loading weights failed: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<DecoderModel> DecoderModel::RandomInit(const ModelConfig& config,
                                                      const ModelOptions& options, uint64_t seed) {
  try {
    GP_ASSIGN_OR_RETURN(ModelWeights weights, RandomWeights(config, options, seed));
    return DecoderModel(config, options, std::move(weights));
  } catch (const c10::Error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("random init failed: ", e.what_without_backtrace()));
  }
}

absl::StatusOr<ForwardOutput> DecoderModel::Forward(const at::Tensor& input_ids,
                                                    const at::Tensor& attention_mask,
                                                    const ForwardOptions& options) const {
  GP_ASSIGN_OR_RETURN(const CheckedInputs checked,
                      CheckInputs(input_ids, attention_mask, options, config_));
  try {
    return ForwardUnchecked(ToDeviceWithoutWaiting(input_ids, options_.device),
                            ToDeviceWithoutWaiting(attention_mask, options_.device), options,
                            checked.padded);
  } catch (const c10::Error& e) {
    return ForwardFailure(e);
  }
}

absl::Status DecoderModel::CheckForwardInputs(const at::Tensor& input_ids,
                                              const at::Tensor& attention_mask,
                                              const ForwardOptions& options) const {
  return CheckInputs(input_ids, attention_mask, options, config_).status();
}

ForwardOutput DecoderModel::ForwardRecordable(const at::Tensor& input_ids,
                                              const at::Tensor& attention_mask,
                                              const ForwardOptions& options) const {
  return ForwardUnchecked(input_ids, attention_mask, options, /*padded=*/true);
}

ForwardOutput DecoderModel::ForwardUnchecked(const at::Tensor& input_ids,
                                             const at::Tensor& attention_mask,
                                             const ForwardOptions& options, bool padded) const {
  const ModelConfig& c = config_;
  const int64_t length = input_ids.size(1);
  ForwardOutput out;

  // The residual stream stays float32 in every mode: in bfloat16 mode only the matmuls run
  // in bfloat16, which keeps the later layers' attention maps close to float32 ones.
  at::Tensor h = at::embedding(weights_.embed_tokens, input_ids);
  if (c.scale_embeddings) {
    // transformers rounds sqrt(hidden) to the model dtype before multiplying.
    h = h * at::scalar_tensor(std::sqrt(static_cast<double>(c.hidden_size)), h.options());
  }
  h = h.to(at::kFloat);
  if (options.hidden_states) out.hidden_states.push_back(h);

  auto [cos_full, sin_full] = RotaryCosSin(inv_freq_full_, length, at::kFloat);
  auto [cos_sliding, sin_sliding] = RotaryCosSin(inv_freq_sliding_, length, at::kFloat);
  AttentionCapture capture;
  if (options.capture == ForwardOptions::Capture::kAll) capture = AttentionCapture::All();
  if (options.capture == ForwardOptions::Capture::kPositions) {
    capture = AttentionCapture::AtPositions(
        ToDeviceWithoutWaiting(options.capture_positions, options_.device));
  }
  if (options.capture == ForwardOptions::Capture::kPositionRows) {
    capture = AttentionCapture::RowsAtPositions(
        ToDeviceWithoutWaiting(options.capture_positions, options_.device), c.num_layers);
  }

  AttentionCapture* const kept = capture.enabled() ? &capture : nullptr;
  const bool fused = UseFusedAttention(options.attention_kernel, c, options_.device, kept);

  // Fused kernels take a plain causal mask as is_causal (flash attention on a GPU).
  const bool unpadded = fused && !padded;
  const at::Tensor positions = kept != nullptr ? kept->positions() : at::Tensor();
  const AttentionMasking full = MakeAttentionMasking(AttentionBias(attention_mask, std::nullopt),
                                                     unpadded, fused, options_.dtype, positions);
  AttentionMasking sliding_masking = full;  // when the window covers the whole sequence
  if (c.sliding_window > 0 && c.sliding_window < length) {
    sliding_masking = MakeAttentionMasking(AttentionBias(attention_mask, c.sliding_window),
                                           /*causal_only=*/false, fused, options_.dtype, positions);
  }

  // A pass that returns only attention needs the last layer's attention but not its output:
  // its v and output projections, value mix and MLP, and the final norm, would feed nothing.
  const bool output_needed = kept == nullptr || options.hidden_states || options.logits;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const LayerWeights& w = weights_.layers[i];
    const bool sliding = c.layer_is_sliding[i];
    const at::Tensor& rotary_cos = sliding ? cos_sliding : cos_full;
    const at::Tensor& rotary_sin = sliding ? sin_sliding : sin_full;
    const AttentionMasking& masking = sliding ? sliding_masking : full;
    const at::Tensor normed = RmsNorm(h, w.input_norm, c);
    if (i + 1 == c.num_layers && !output_needed) {
      CaptureAttentionOnly(normed, w, c, rotary_cos, rotary_sin, masking, *kept, fused);
      break;
    }
    at::Tensor attended = SelfAttention(normed, w, c, rotary_cos, rotary_sin, masking, kept, fused);
    if (c.sandwich_norms) attended = RmsNorm(attended, w.post_attention_norm, c);
    h = h + attended;  // float32: a bfloat16 output is widened exactly inside the sum
    at::Tensor mixed = Mlp(RmsNorm(h, w.pre_feedforward_norm, c), w, c);
    if (c.sandwich_norms) mixed = RmsNorm(mixed, w.post_feedforward_norm, c);
    h = h + mixed;
    if (options.hidden_states && i + 1 < c.num_layers) out.hidden_states.push_back(h);
  }
  if (output_needed) h = RmsNorm(h, weights_.final_norm, c);
  if (options.hidden_states) out.hidden_states.push_back(h);
  out.attention_rows = capture.StackedRows();
  out.attentions = capture.TakeLayers();

  if (options.logits) {
    at::Tensor logits =
        Linear(h.to(weights_.lm_head.scalar_type()), weights_.lm_head, at::Tensor()).to(at::kFloat);
    if (c.final_logit_softcap) {
      logits = at::tanh(logits / *c.final_logit_softcap) * *c.final_logit_softcap;
    }
    out.logits = logits;
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> DecoderModel::NamedParameters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  ModelWeights copy = weights_;  // tensors share storage: slots are handles, not data
  const bool tied = config_.tie_word_embeddings;
  (void)ForEachWeight(
      config_, &copy,
      [&](const std::string& name, const std::vector<int64_t>&, WeightInit, at::Tensor* slot) {
        if (!(tied && name == kLmHeadName)) out.emplace_back(name, *slot);
        return absl::OkStatus();
      });
  return out;
}

}  // namespace gp
