#include "common/ablation/prepared_prompt.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/graph/node_tokens.h"

namespace gp {

absl::StatusOr<PreparedPrompt> PreparePrompt(const Tokenizer& tokenizer,
                                             const CapturePrompt& prompt) {
  GP_ASSIGN_OR_RETURN(Encoding encoding,
                      tokenizer.Encode(prompt.text, /*add_special_tokens=*/true));
  Prompt spans{prompt.text, prompt.mentions, {}};
  NodeTokens tokens = MapMentionsToTokens(spans, encoding.offsets);
  if (!tokens.shared_tokens.empty()) {
    const int t = tokens.shared_tokens[0];
    return absl::InvalidArgumentError(absl::StrCat("token '", encoding.tokens[t],
                                                   "' spans two node names in \"", prompt.text,
                                                   "\"; use another name scheme or separator"));
  }
  PreparedPrompt out;
  out.ids = encoding.ids;
  std::set<int> positions;
  for (size_t node = 0; node < tokens.mentions.size(); ++node) {
    for (int t : tokens.AllTokens(static_cast<int>(node))) positions.insert(t);
  }
  out.mentions = std::move(tokens.mentions);
  out.positions.assign(positions.begin(), positions.end());
  return out;
}

std::vector<int> RowOfToken(const std::vector<int>& positions, size_t num_tokens) {
  std::vector<int> rows(num_tokens, -1);
  for (size_t r = 0; r < positions.size(); ++r) rows[positions[r]] = static_cast<int>(r);
  return rows;
}

std::vector<std::vector<size_t>> BatchesByLength(const std::vector<size_t>& lengths,
                                                 size_t batch_size) {
  std::vector<size_t> order;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] > 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    const size_t end = std::min(order.size(), start + batch_size);
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

}  // namespace gp
