// A prompt to capture (text and its nodes' mention spans) tokenized, with the mentions mapped
// to tokens: what every attention source and the extractor's requests start from. No libtorch:
// requests are checked without it (tests/fuzz).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/graph/prompt.h"
#include "common/tokenizer/tokenizer.h"

namespace gp {

// One prompt to capture.
struct CapturePrompt {
  std::string text;
  std::vector<std::vector<MentionSpan>> mentions;  // per node, byte spans of `text`
};

// A prompt tokenized with its mentions mapped to tokens.
struct PreparedPrompt {
  std::vector<int32_t> ids;  // with the tokenizer's special tokens
  // [node][mention] -> token indices; a node without mentions has an empty list.
  std::vector<std::vector<std::vector<int>>> mentions;
  std::vector<int> positions;  // every mentioned token, ascending: the rows to capture
};

// Which captured row holds each token: positions[r] -> r, -1 for tokens not captured.
std::vector<int> RowOfToken(const std::vector<int>& positions, size_t num_tokens);

// Prompt indices in batches of at most `batch_size`, shortest first (stable among equals), so
// each forward pass pads little; a prompt whose length is 0 (nothing to run) is left out.
std::vector<std::vector<size_t>> BatchesByLength(const std::vector<size_t>& lengths,
                                                 size_t batch_size);

// Tokenizes `prompt` (add_special_tokens) and maps its mentions; InvalidArgument when a token
// spans two nodes' names.
absl::StatusOr<PreparedPrompt> PreparePrompt(const Tokenizer& tokenizer,
                                             const CapturePrompt& prompt);

}  // namespace gp
