// Split, ByteLevel, Metaspace and Sequence pre-tokenizers.
#include "common/tokenizer/pre_tokenizer.h"

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/regex.h"

namespace gp {
namespace {

enum class SplitBehavior { kIsolated, kMergedWithPrevious, kMergedWithNext, kRemoved, kContiguous };

struct Segment {
  size_t begin, end;
  bool is_match;
};

// Splits `text` at matches of a pattern, as tokenizers' NormalizedString::split does.
std::vector<NormalizedText> SplitPiece(const NormalizedText& piece,
                                       const std::vector<std::pair<size_t, size_t>>& matches,
                                       SplitBehavior behavior, bool invert) {
  std::vector<Segment> segments;
  size_t last = 0;
  for (const auto& [b, e] : matches) {
    if (b > last) segments.push_back({last, b, invert});
    segments.push_back({b, e, !invert});
    last = e;
  }
  if (last < piece.text.size()) segments.push_back({last, piece.text.size(), invert});

  std::vector<std::pair<size_t, size_t>> out_ranges;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const auto& s : segments) {
        if (!s.is_match) out_ranges.emplace_back(s.begin, s.end);
      }
      break;
    case SplitBehavior::kIsolated:
      for (const auto& s : segments) out_ranges.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_was_match = false;
      for (const auto& s : segments) {
        if (s.is_match && !previous_was_match && !out_ranges.empty()) {
          out_ranges.back().second = s.end;
        } else {
          out_ranges.emplace_back(s.begin, s.end);
        }
        previous_was_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_was_match = false;
      for (const auto& s : segments) {
        if (previous_was_match && !s.is_match && !out_ranges.empty()) {
          out_ranges.back().second = s.end;
        } else {
          out_ranges.emplace_back(s.begin, s.end);
        }
        previous_was_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_was_match = false;
      for (size_t i = 0; i < segments.size(); ++i) {
        const auto& s = segments[i];
        if (i > 0 && s.is_match && previous_was_match) {
          out_ranges.back().second = s.end;
        } else {
          out_ranges.emplace_back(s.begin, s.end);
        }
        previous_was_match = s.is_match;
      }
      break;
    }
  }
  std::vector<NormalizedText> out;
  for (const auto& [b, e] : out_ranges) {
    if (e > b) out.push_back(piece.Slice(b, e));
  }
  return out;
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(Pattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  std::vector<NormalizedText> Apply(std::vector<NormalizedText> pieces) const override {
    std::vector<NormalizedText> out;
    for (const auto& piece : pieces) {
      for (auto& part : SplitPiece(piece, pattern_.FindAll(piece.text), behavior_, invert_))
        out.push_back(std::move(part));
    }
    return out;
  }

 private:
  Pattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

// GPT-2's pattern, used by ByteLevel with use_regex.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  std::vector<NormalizedText> Apply(std::vector<NormalizedText> pieces) const override {
    std::vector<NormalizedText> split;
    for (auto& piece : pieces) {
      if (add_prefix_space_ && !piece.text.empty() && piece.text[0] != ' ') {
        NormalizedText prefixed;
        prefixed.Append(" ", piece.origin.front());
        prefixed.text += piece.text;
        prefixed.origin.insert(prefixed.origin.end(), piece.origin.begin(), piece.origin.end());
        piece = std::move(prefixed);
      }
      if (regex_) {
        for (auto& part :
             SplitPiece(piece, regex_->FindAll(piece.text), SplitBehavior::kIsolated, false)) {
          split.push_back(std::move(part));
        }
      } else {
        split.push_back(std::move(piece));
      }
    }
    const auto& table = ByteToUnicode();
    std::vector<NormalizedText> out;
    out.reserve(split.size());
    for (const auto& piece : split) {
      NormalizedText mapped;
      mapped.text.reserve(piece.text.size() * 2);
      for (size_t i = 0; i < piece.text.size(); ++i) {
        mapped.Append(table[static_cast<uint8_t>(piece.text[i])], piece.origin[i]);
      }
      out.push_back(std::move(mapped));
    }
    return out;
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}

  std::vector<NormalizedText> Apply(std::vector<NormalizedText> pieces) const override {
    std::vector<NormalizedText> out;
    for (const auto& piece : pieces) {
      NormalizedText replaced;
      const bool prepend =
          scheme_ == PrependScheme::kAlways ||
          (scheme_ == PrependScheme::kFirst && !piece.origin.empty() && piece.origin[0].begin == 0);
      if (prepend && !piece.text.empty() &&
          piece.text.compare(0, replacement_.size(), replacement_) != 0 && piece.text[0] != ' ') {
        replaced.Append(replacement_, piece.origin.front());
      }
      for (size_t i = 0; i < piece.text.size(); ++i) {
        if (piece.text[i] == ' ') {
          replaced.Append(replacement_, piece.origin[i]);
        } else {
          replaced.text.push_back(piece.text[i]);
          replaced.origin.push_back(piece.origin[i]);
        }
      }
      if (!split_) {
        out.push_back(std::move(replaced));
        continue;
      }
      const auto matches = Pattern::Literal(replacement_).FindAll(replaced.text);
      for (auto& part : SplitPiece(replaced, matches, SplitBehavior::kMergedWithNext, false)) {
        out.push_back(std::move(part));
      }
    }
    return out;
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  std::vector<NormalizedText> Apply(std::vector<NormalizedText> pieces) const override {
    for (const auto& step : steps_) {
      if (step) pieces = step->Apply(std::move(pieces));
    }
    return pieces;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool BoolField(const nlohmann::json& node, const std::string& key, bool fallback) {
  return node.contains(key) && node[key].is_boolean() ? node[key].get<bool>() : fallback;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const nlohmann::json& node,
                                                               const std::string& path) {
  if (node.is_null()) return std::unique_ptr<PreTokenizer>();
  GP_ASSIGN_OR_RETURN(std::string type, StringField(node, path, "type"));
  if (type == "Split") {
    GP_ASSIGN_OR_RETURN(Pattern pattern, ReadPattern(node, path));
    GP_ASSIGN_OR_RETURN(std::string behavior_name, StringField(node, path, "behavior"));
    SplitBehavior behavior;
    if (behavior_name == "Isolated") {
      behavior = SplitBehavior::kIsolated;
    } else if (behavior_name == "MergedWithPrevious") {
      behavior = SplitBehavior::kMergedWithPrevious;
    } else if (behavior_name == "MergedWithNext") {
      behavior = SplitBehavior::kMergedWithNext;
    } else if (behavior_name == "Removed") {
      behavior = SplitBehavior::kRemoved;
    } else if (behavior_name == "Contiguous") {
      behavior = SplitBehavior::kContiguous;
    } else {
      return TokenizerJsonError(path + ".behavior",
                                absl::StrCat("unsupported '", behavior_name, "'"));
    }
    return std::unique_ptr<PreTokenizer>(
        new SplitPreTokenizer(std::move(pattern), behavior, BoolField(node, "invert", false)));
  }
  if (type == "ByteLevel") {
    std::unique_ptr<Regex> regex;
    if (BoolField(node, "use_regex", true)) {
      GP_ASSIGN_OR_RETURN(Regex compiled, Regex::Compile(kGpt2Pattern));
      regex = std::make_unique<Regex>(std::move(compiled));
    }
    return std::unique_ptr<PreTokenizer>(
        new ByteLevelPreTokenizer(BoolField(node, "add_prefix_space", true), std::move(regex)));
  }
  if (type == "Metaspace") {
    std::string replacement = "\xe2\x96\x81";  // U+2581
    if (node.contains("replacement") && node["replacement"].is_string())
      replacement = node["replacement"];
    PrependScheme scheme =
        BoolField(node, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
    if (node.contains("prepend_scheme") && node["prepend_scheme"].is_string()) {
      const std::string s = node["prepend_scheme"];
      if (s == "always") {
        scheme = PrependScheme::kAlways;
      } else if (s == "first") {
        scheme = PrependScheme::kFirst;
      } else if (s == "never") {
        scheme = PrependScheme::kNever;
      } else {
        return TokenizerJsonError(path + ".prepend_scheme", absl::StrCat("unsupported '", s, "'"));
      }
    }
    return std::unique_ptr<PreTokenizer>(
        new MetaspacePreTokenizer(replacement, scheme, BoolField(node, "split", true)));
  }
  if (type == "Sequence") {
    if (!node.contains("pretokenizers") || !node["pretokenizers"].is_array()) {
      return TokenizerJsonError(path + ".pretokenizers", "missing or not an array");
    }
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < node["pretokenizers"].size(); ++i) {
      GP_ASSIGN_OR_RETURN(auto step,
                          MakePreTokenizer(node["pretokenizers"][i],
                                           absl::StrCat(path, ".pretokenizers[", i, "]")));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
  }
  return UnsupportedComponent(path, node);
}

}  // namespace gp
