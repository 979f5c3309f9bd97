// Mention -> token mapping by byte-range overlap.
#include "common/graph/node_tokens.h"

#include <algorithm>
#include <set>

namespace gp {

std::vector<int> NodeTokens::AllTokens(int node) const {
  std::vector<int> out;
  for (const auto& m : mentions[node]) out.insert(out.end(), m.begin(), m.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

NodeTokens MapMentionsToTokens(const Prompt& prompt,
                               const std::vector<std::pair<uint32_t, uint32_t>>& token_offsets) {
  NodeTokens out;
  out.mentions.resize(prompt.mentions.size());
  // Which nodes each token touches.
  std::vector<std::set<int>> owners(token_offsets.size());
  for (size_t node = 0; node < prompt.mentions.size(); ++node) {
    out.mentions[node].resize(prompt.mentions[node].size());
    for (size_t m = 0; m < prompt.mentions[node].size(); ++m) {
      const MentionSpan& span = prompt.mentions[node][m];
      for (size_t t = 0; t < token_offsets.size(); ++t) {
        const auto& [begin, end] = token_offsets[t];
        if (begin < end && begin < span.end && end > span.begin) {
          out.mentions[node][m].push_back(static_cast<int>(t));
          owners[t].insert(static_cast<int>(node));
        }
      }
    }
  }
  for (size_t t = 0; t < owners.size(); ++t) {
    if (owners[t].size() > 1) out.shared_tokens.push_back(static_cast<int>(t));
  }
  if (!out.shared_tokens.empty()) {
    for (auto& node : out.mentions) {
      for (auto& mention : node) {
        mention.erase(std::remove_if(mention.begin(), mention.end(),
                                     [&](int t) { return owners[t].size() > 1; }),
                      mention.end());
      }
    }
  }
  return out;
}

}  // namespace gp
