// A decoder-only language model (llama, qwen2, gemma2) loaded from a Hugging Face checkpoint
// directory or built with random weights from a config, whose forward pass returns every
// layer's post-softmax attention for every query head. The module's public API.
//
//   GP_ASSIGN_OR_RETURN(DecoderModel model, DecoderModel::Load("tiny-llama3", {}));
//   ForwardOptions options;
//   options.capture = ForwardOptions::Capture::kAll;
//   GP_ASSIGN_OR_RETURN(ForwardOutput out, model.Forward(input_ids, attention_mask, options));
//   out.attentions[layer]  // float32 [B, heads, T, T]
//
// Plain ATen ops throughout, so gradients flow when weights require them (and no autograd
// state is kept under c10::InferenceMode).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/config.h"
#include "common/model/weights.h"

namespace gp {

struct ModelOptions {
  at::ScalarType dtype = at::kFloat;  // kFloat or kBFloat16
  at::Device device = at::kCPU;
};

// Parses "float32" | "bfloat16" and "cpu" | "cuda" | "cuda:N"; a CUDA device is an error
// naming the problem when this libtorch or machine has none.
absl::StatusOr<ModelOptions> ParseModelOptions(const std::string& dtype, const std::string& device);

// How the forward pass computes attention (common/model/attention.h): kExplicit materializes
// every head's [T, T] probabilities; kFused runs the value mix through the library's fused
// scaled-dot-product kernel and computes probabilities only for captured rows, where the model
// allows (no soft-capping, no full-map capture; else explicit). kAuto: fused on a CUDA device
// when no gradient is recorded, explicit otherwise (on a CPU the fused kernel is no faster).
enum class AttentionKernel { kAuto, kExplicit, kFused };

// A c10::Error thrown by a forward pass as a status: ResourceExhausted when memory ran out,
// else Internal with the error's text.
absl::Status ForwardFailure(const c10::Error& error);

struct ForwardOptions {
  enum class Capture { kNone, kAll, kPositions, kPositionRows };
  Capture capture = Capture::kAll;
  // With kPositions: I64 [B, K], positions (< T) whose rows and columns are kept; with
  // kPositionRows, their rows over every key.
  at::Tensor capture_positions;
  bool hidden_states = false;
  bool logits = false;  // the LM head runs only when asked
  AttentionKernel attention_kernel = AttentionKernel::kAuto;
};

struct ForwardOutput {
  // Per layer, float32 [B, heads, T, T] (kAll), [B, heads, K, K] (kPositions) or
  // [B, heads, K, T] (kPositionRows).
  std::vector<at::Tensor> attentions;
  // kPositionRows: every layer's rows in one buffer [L, B, H, K, T], written in place by the
  // forward pass (`attentions` are views of it).
  at::Tensor attention_rows;
  // num_layers + 1 entries [B, T, hidden] as transformers returns them: the embeddings, each
  // layer's output, and last the final-normed output in place of the last layer's.
  std::vector<at::Tensor> hidden_states;
  at::Tensor logits;  // float32 [B, T, vocab]
};

class DecoderModel {
 public:
  // Reads DIR/config.json and the weights (model.safetensors or sharded through
  // model.safetensors.index.json), checking every tensor's presence and shape.
  static absl::StatusOr<DecoderModel> Load(const std::string& dir, const ModelOptions& options);
  // Random weights (uniform with the standard deviation initializer_range, norms at identity,
  // biases zero), deterministic in `seed` whatever the thread count.
  static absl::StatusOr<DecoderModel> RandomInit(const ModelConfig& config,
                                                 const ModelOptions& options, uint64_t seed);

  // input_ids and attention_mask: I64 [B, T], right padded (each row 1..1 0..0, at least one
  // 1). InvalidArgument for shapes, ids out of the vocabulary, bad masks or positions;
  // ResourceExhausted when memory runs out.
  absl::StatusOr<ForwardOutput> Forward(const at::Tensor& input_ids,
                                        const at::Tensor& attention_mask,
                                        const ForwardOptions& options) const;

  // Forward's input checks alone, on host tensors: for a caller that runs the pass from device
  // buffers of its own (RowsReplayer) and checks its inputs before copying them there.
  absl::Status CheckForwardInputs(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const ForwardOptions& options) const;
  // The pass on inputs CheckForwardInputs accepted, already on the model's device, with no host
  // work that waits for the device, so that it can be recorded as a CUDA graph and replayed on
  // other inputs of the same shapes. The mask is always applied (never the fused kernel's
  // causal-only shortcut): one recording serves every mask. Throws c10::Error.
  ForwardOutput ForwardRecordable(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const ForwardOptions& options) const;

  const ModelConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }
  // Every weight under its Hugging Face name (a tied lm_head is not repeated): for optimizers
  // and for saving a checkpoint in the hub layout.
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;

 private:
  DecoderModel(ModelConfig config, ModelOptions options, ModelWeights weights);
  // Inputs on the model's device; `padded`: whether any row of the mask has padding (known
  // from the host copy, so the device is never asked). Throws c10::Error.
  ForwardOutput ForwardUnchecked(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                 const ForwardOptions& options, bool padded) const;

  ModelConfig config_;
  ModelOptions options_;
  ModelWeights weights_;
  at::Tensor inv_freq_full_, inv_freq_sliding_;
};

}  // namespace gp
