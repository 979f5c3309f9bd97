// NFC (utf8proc), Replace, Prepend and Sequence normalizers.
#include "common/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/regex.h"
#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

// NFC over runs of one starter and the non-starters after it: composition never crosses such
// a boundary, so each run's output bytes can take the run's original range, and an unchanged
// run (nearly all text) keeps its per-character origins.
class NfcNormalizer : public Normalizer {
 public:
  NormalizedText Apply(const NormalizedText& input) const override {
    NormalizedText out;
    const std::string& s = input.text;
    size_t run_begin = 0;
    auto flush = [&](size_t run_end) {
      if (run_end <= run_begin) return;
      const std::string run = s.substr(run_begin, run_end - run_begin);
      if (run.size() == 1) {  // a lone ASCII starter: nothing to compose
        out.text += run;
        out.origin.push_back(input.origin[run_begin]);
        run_begin = run_end;
        return;
      }
      utf8proc_uint8_t* composed =
          utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(run.c_str()));
      const std::string normalized = composed ? reinterpret_cast<const char*>(composed) : run;
      std::free(composed);
      if (normalized == run) {
        out.text += run;
        out.origin.insert(out.origin.end(), input.origin.begin() + run_begin,
                          input.origin.begin() + run_end);
      } else {
        out.Append(normalized, input.Origin(run_begin, run_end));
      }
      run_begin = run_end;
    };
    for (size_t i = 0; i < s.size();) {
      const uint8_t lead = static_cast<uint8_t>(s[i]);
      const size_t n = Utf8Length(lead);
      const bool starter =
          lead < 0x80 || utf8proc_get_property(DecodeUtf8(s, i))->combining_class == 0;
      if (starter && i > run_begin) flush(i);
      i += n;
    }
    flush(s.size());
    return out;
  }
};

// Replaces every match of a string or regex pattern; the replacement takes the matched
// range's origin.
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  NormalizedText Apply(const NormalizedText& input) const override {
    NormalizedText out;
    size_t last = 0;
    for (const auto& [begin, end] : pattern_.FindAll(input.text)) {
      out.text.append(input.text, last, begin - last);
      out.origin.insert(out.origin.end(), input.origin.begin() + last,
                        input.origin.begin() + begin);
      out.Append(content_, input.Origin(begin, end));
      last = end;
    }
    out.text.append(input.text, last, std::string::npos);
    out.origin.insert(out.origin.end(), input.origin.begin() + last, input.origin.end());
    return out;
  }

 private:
  Pattern pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  NormalizedText Apply(const NormalizedText& input) const override {
    if (input.text.empty()) return input;
    NormalizedText out;
    out.Append(prepend_, input.origin.front());
    out.text += input.text;
    out.origin.insert(out.origin.end(), input.origin.begin(), input.origin.end());
    return out;
  }

 private:
  std::string prepend_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  NormalizedText Apply(const NormalizedText& input) const override {
    NormalizedText text = input;
    for (const auto& step : steps_) {
      if (step) text = step->Apply(text);
    }
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

absl::StatusOr<Pattern> ReadPattern(const nlohmann::json& node, const std::string& path) {
  if (!node.contains("pattern") || !node["pattern"].is_object()) {
    return TokenizerJsonError(path + ".pattern", "missing");
  }
  const auto& pattern = node["pattern"];
  if (pattern.contains("String") && pattern["String"].is_string()) {
    return Pattern::Literal(pattern["String"].get<std::string>());
  }
  if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
    auto compiled = Regex::Compile(pattern["Regex"].get<std::string>());
    if (!compiled.ok())
      return TokenizerJsonError(path + ".pattern.Regex", std::string(compiled.status().message()));
    return Pattern::FromRegex(*std::move(compiled));
  }
  return TokenizerJsonError(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
}

absl::StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const nlohmann::json& node,
                                                           const std::string& path) {
  if (node.is_null()) return std::unique_ptr<Normalizer>();
  GP_ASSIGN_OR_RETURN(std::string type, StringField(node, path, "type"));
  if (type == "NFC") return std::unique_ptr<Normalizer>(new NfcNormalizer());
  if (type == "Replace") {
    GP_ASSIGN_OR_RETURN(Pattern pattern, ReadPattern(node, path));
    GP_ASSIGN_OR_RETURN(std::string content, StringField(node, path, "content"));
    return std::unique_ptr<Normalizer>(new ReplaceNormalizer(std::move(pattern), content));
  }
  if (type == "Prepend") {
    GP_ASSIGN_OR_RETURN(std::string prepend, StringField(node, path, "prepend"));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(prepend));
  }
  if (type == "Sequence") {
    if (!node.contains("normalizers") || !node["normalizers"].is_array()) {
      return TokenizerJsonError(path + ".normalizers", "missing or not an array");
    }
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < node["normalizers"].size(); ++i) {
      GP_ASSIGN_OR_RETURN(auto step, MakeNormalizer(node["normalizers"][i],
                                                    absl::StrCat(path, ".normalizers[", i, "]")));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(steps)));
  }
  return UnsupportedComponent(path, node);
}

}  // namespace gp
