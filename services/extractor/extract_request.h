// What the extractor checks of a request before any work: the wire dtype and the number of
// prompts, the model path (confined to the model root), and each prompt (text and mention spans
// through the tokenizer, or the caller's ids and capture positions). No libtorch: tests/fuzz
// feeds it hostile requests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/prepared_prompt.h"
#include "common/features/feature_options.h"
#include "common/tokenizer/tokenizer.h"
#include "graphprobe/v1/extractor.pb.h"

namespace gp {

// The most feature modes one request may ask to pool.
constexpr int kMaxPoolModes = 16;

// How a request's results travel: the tensors' wire dtype, and the feature modes to pool into
// (none: the rows themselves).
struct ExtractReply {
  graphprobe::v1::DType wire = graphprobe::v1::DTYPE_F32;
  std::vector<FeatureOptions> pool;
};

// The reply a request asks for (DTYPE_F32 when the dtype is unset); InvalidArgument for
// another dtype, a mode that does not parse (naming `pool[i]`) or pooling asked of a prompt in
// the ids form (it names no nodes), ResourceExhausted for more than `max_prompts` prompts or
// kMaxPoolModes modes.
absl::StatusOr<ExtractReply> CheckExtractRequest(const graphprobe::v1::ExtractRequest& request,
                                                 int max_prompts);

// `path` (relative, as a request names a model) resolved under `root` (canonical, no trailing
// slash): InvalidArgument when empty, absolute, or leaving the root by `..` or a symlink;
// NotFound without a config.json there.
absl::StatusOr<std::string> ResolveModelPath(const std::string& root, const std::string& path);

// A request's prompt as the forward pass takes it: text and mention spans through `tokenizer`,
// or the caller's ids (each below `vocab_size`) and strictly ascending capture positions.
absl::StatusOr<PreparedPrompt> PrepareRequestPrompt(const graphprobe::v1::ExtractPrompt& prompt,
                                                    const Tokenizer& tokenizer, int64_t vocab_size);

}  // namespace gp
