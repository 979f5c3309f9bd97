// How attention rows become node-pair features: the mode applied to each query row, sink
// dropping, aggregation over repeated mentions, directions; and its text form
// ("topk:3+drop-sink"). No libtorch: specs and requests are parsed without it.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace gp {

enum class FeatureMode { kRaw, kArgmax, kTopK };
enum class MentionAggregation { kMean, kMax };

struct FeatureOptions {
  FeatureMode mode = FeatureMode::kRaw;
  int top_k = 3;
  bool top_k_ones = false;  // topk keeps ones instead of the attention values
  bool drop_sink = false;
  MentionAggregation aggregation = MentionAggregation::kMean;
  bool both_directions = false;

  int directions() const { return both_directions ? 2 : 1; }
};

// "raw" | "argmax" | "topk:K" (| "topk1:K" for ones), each optionally followed by options:
// "+drop-sink", "+max" (aggregation over repeated mentions), "+both" (both directions), e.g.
// "argmax+drop-sink". Options not named keep `base`'s values. FeatureModeName writes every
// option that differs from the default, so the name identifies the features.
absl::StatusOr<FeatureOptions> ParseFeatureMode(const std::string& mode, FeatureOptions base);
std::string FeatureModeName(const FeatureOptions& options);

}  // namespace gp
