#include "common/features/feature_options.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/core/status.h"

namespace gp {

namespace {

absl::StatusOr<FeatureOptions> ParseBaseMode(const std::string& mode, FeatureOptions base) {
  if (mode == "raw") {
    base.mode = FeatureMode::kRaw;
    return base;
  }
  if (mode == "argmax") {
    base.mode = FeatureMode::kArgmax;
    return base;
  }
  for (const char* prefix : {"topk:", "topk1:"}) {
    const std::string p = prefix;
    int k = 0;
    if (mode.rfind(p, 0) == 0 && absl::SimpleAtoi(mode.substr(p.size()), &k) && k >= 1) {
      base.mode = FeatureMode::kTopK;
      base.top_k = k;
      base.top_k_ones = p == "topk1:";
      return base;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown feature mode '", mode,
      "' (raw, argmax, topk:K, topk1:K, each optionally with +drop-sink, +max, +both)"));
}

}  // namespace

absl::StatusOr<FeatureOptions> ParseFeatureMode(const std::string& mode, FeatureOptions base) {
  const std::vector<std::string> parts = absl::StrSplit(mode, '+');
  GP_ASSIGN_OR_RETURN(FeatureOptions out, ParseBaseMode(parts[0], base));
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "drop-sink") {
      out.drop_sink = true;
    } else if (parts[i] == "max") {
      out.aggregation = MentionAggregation::kMax;
    } else if (parts[i] == "both") {
      out.both_directions = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("feature mode '", mode, "': unknown option '+",
                                                     parts[i], "' (+drop-sink, +max, +both)"));
    }
  }
  return out;
}

std::string FeatureModeName(const FeatureOptions& o) {
  std::string name;
  switch (o.mode) {
    case FeatureMode::kRaw:
      name = "raw";
      break;
    case FeatureMode::kArgmax:
      name = "argmax";
      break;
    case FeatureMode::kTopK:
      name = absl::StrCat(o.top_k_ones ? "topk1:" : "topk:", o.top_k);
      break;
  }
  if (o.drop_sink) name += "+drop-sink";
  if (o.aggregation == MentionAggregation::kMax) name += "+max";
  if (o.both_directions) name += "+both";
  return name;
}

}  // namespace gp
