// What the extractor checks of a request before any work: the wire dtype and the number of
// prompts, the model path (confined to the model root), and each prompt (text and mention spans
// through the tokenizer, or the caller's ids and capture positions). No libtorch: tests/fuzz
// feeds it hostile requests.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/ablation/prepared_prompt.h"
#include "common/tokenizer/tokenizer.h"
#include "graphprobe/v1/extractor.pb.h"

namespace gp {

// The dtype the rows travel in (DTYPE_F32 when unset); InvalidArgument for another dtype,
// ResourceExhausted for more than `max_prompts` prompts.
absl::StatusOr<graphprobe::v1::DType> CheckExtractRequest(
    const graphprobe::v1::ExtractRequest& request, int max_prompts);

// `path` (relative, as a request names a model) resolved under `root` (canonical, no trailing
// slash): InvalidArgument when empty, absolute, or leaving the root by `..` or a symlink;
// NotFound without a config.json there.
absl::StatusOr<std::string> ResolveModelPath(const std::string& root, const std::string& path);

// A request's prompt as the forward pass takes it: text and mention spans through `tokenizer`,
// or the caller's ids (each below `vocab_size`) and strictly ascending capture positions.
absl::StatusOr<PreparedPrompt> PrepareRequestPrompt(const graphprobe::v1::ExtractPrompt& prompt,
                                                    const Tokenizer& tokenizer, int64_t vocab_size);

}  // namespace gp
