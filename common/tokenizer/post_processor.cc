// ByteLevel, TemplateProcessing and Sequence post-processors.
#include "common/tokenizer/post_processor.h"

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/tokenizer/json_path.h"

namespace gp {
namespace {

// Moves offsets past the leading/trailing spaces a byte-level token carries ("Ġ" is U+0120).
class ByteLevelPostProcessor : public PostProcessor {
 public:
  explicit ByteLevelPostProcessor(bool trim_offsets) : trim_offsets_(trim_offsets) {}
  void Apply(bool, Encoding* e) const override {
    if (!trim_offsets_) return;
    static const std::string kSpace = "\xc4\xa0";
    for (size_t i = 0; i < e->tokens.size(); ++i) {
      const std::string& t = e->tokens[i];
      uint32_t leading = 0, trailing = 0;
      for (size_t p = 0; t.compare(p, 2, kSpace) == 0; p += 2) ++leading;
      for (size_t p = t.size();
           p >= 2 && leading * 2 < t.size() && t.compare(p - 2, 2, kSpace) == 0; p -= 2)
        ++trailing;
      auto& [begin, end] = e->offsets[i];
      if (leading > 0) begin = std::min(begin + leading, end);
      if (trailing > 0 && end >= trailing && end - trailing >= begin) end -= trailing;
    }
  }

 private:
  bool trim_offsets_;
};

struct TemplatePiece {
  bool is_sequence;
  std::vector<int32_t> ids;  // special token ids
  std::vector<std::string> tokens;
};

class TemplatePostProcessor : public PostProcessor {
 public:
  explicit TemplatePostProcessor(std::vector<TemplatePiece> single) : single_(std::move(single)) {}
  void Apply(bool add_special_tokens, Encoding* e) const override {
    if (!add_special_tokens) return;
    Encoding out;
    for (const auto& piece : single_) {
      if (piece.is_sequence) {
        out.ids.insert(out.ids.end(), e->ids.begin(), e->ids.end());
        out.tokens.insert(out.tokens.end(), e->tokens.begin(), e->tokens.end());
        out.offsets.insert(out.offsets.end(), e->offsets.begin(), e->offsets.end());
      } else {
        out.ids.insert(out.ids.end(), piece.ids.begin(), piece.ids.end());
        out.tokens.insert(out.tokens.end(), piece.tokens.begin(), piece.tokens.end());
        out.offsets.insert(out.offsets.end(), piece.ids.size(), {0, 0});
      }
    }
    *e = std::move(out);
  }

 private:
  std::vector<TemplatePiece> single_;
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void Apply(bool add_special_tokens, Encoding* e) const override {
    for (const auto& step : steps_) {
      if (step) step->Apply(add_special_tokens, e);
    }
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

absl::StatusOr<std::vector<TemplatePiece>> ReadTemplate(const nlohmann::json& node,
                                                        const std::string& path) {
  if (!node.contains("single") || !node["single"].is_array()) {
    return TokenizerJsonError(path + ".single", "missing or not an array");
  }
  const auto& specials =
      node.contains("special_tokens") ? node["special_tokens"] : nlohmann::json::object();
  std::vector<TemplatePiece> pieces;
  for (size_t i = 0; i < node["single"].size(); ++i) {
    const auto& item = node["single"][i];
    const std::string item_path = absl::StrCat(path, ".single[", i, "]");
    if (item.contains("Sequence")) {
      pieces.push_back({true, {}, {}});
    } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id")) {
      const std::string name = item["SpecialToken"]["id"].get<std::string>();
      if (!specials.contains(name) || !specials[name].contains("ids") ||
          !specials[name].contains("tokens")) {
        return TokenizerJsonError(
            item_path, absl::StrCat("special token '", name, "' is not in special_tokens"));
      }
      pieces.push_back({false, specials[name]["ids"].get<std::vector<int32_t>>(),
                        specials[name]["tokens"].get<std::vector<std::string>>()});
    } else {
      return TokenizerJsonError(item_path, "expected Sequence or SpecialToken");
    }
  }
  return pieces;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostProcessor>> MakePostProcessor(const nlohmann::json& node,
                                                                 const std::string& path) {
  if (node.is_null()) return std::unique_ptr<PostProcessor>();
  GP_ASSIGN_OR_RETURN(std::string type, StringField(node, path, "type"));
  if (type == "ByteLevel") {
    const bool trim = node.contains("trim_offsets") && node["trim_offsets"].is_boolean() &&
                      node["trim_offsets"].get<bool>();
    return std::unique_ptr<PostProcessor>(new ByteLevelPostProcessor(trim));
  }
  if (type == "TemplateProcessing") {
    GP_ASSIGN_OR_RETURN(auto pieces, ReadTemplate(node, path));
    return std::unique_ptr<PostProcessor>(new TemplatePostProcessor(std::move(pieces)));
  }
  if (type == "Sequence") {
    if (!node.contains("processors") || !node["processors"].is_array()) {
      return TokenizerJsonError(path + ".processors", "missing or not an array");
    }
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (size_t i = 0; i < node["processors"].size(); ++i) {
      GP_ASSIGN_OR_RETURN(auto step, MakePostProcessor(node["processors"][i],
                                                       absl::StrCat(path, ".processors[", i, "]")));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PostProcessor>(new SequencePostProcessor(std::move(steps)));
  }
  return UnsupportedComponent(path, node);
}

}  // namespace gp
