// Node mentions (byte ranges of a prompt) mapped to token indices through a tokenizer's
// offsets. A token that covers a name plus a leading space belongs to the mention; a token
// that overlaps mentions of two different nodes is reported and assigned to neither.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/graph/prompt.h"

namespace gp {

struct NodeTokens {
  // [node][mention] -> token indices, ascending.
  std::vector<std::vector<std::vector<int>>> mentions;
  // Tokens overlapping mentions of two or more nodes.
  std::vector<int> shared_tokens;

  // Every token index of `node` over all its mentions, ascending.
  std::vector<int> AllTokens(int node) const;
};

NodeTokens MapMentionsToTokens(const Prompt& prompt,
                               const std::vector<std::pair<uint32_t, uint32_t>>& token_offsets);

}  // namespace gp
