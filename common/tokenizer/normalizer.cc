// NFC (utf8proc), Replace, Prepend and Sequence normalizers.
#include "common/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/regex.h"
#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

// One character of NFC's output with its alignment change as tokenizers computes it
// (unicode-normalization-alignments): 0 replaces the next original character, 1 is new
// (shares the previous byte's origin), -N replaces the next character and removes N more.
struct AlignedChar {
  utf8proc_int32_t code_point;
  int change;
};

int CombiningClass(utf8proc_int32_t c) { return utf8proc_get_property(c)->combining_class; }

// The primary composite of a starter and a following character, or -1.
utf8proc_int32_t Compose(utf8proc_int32_t starter, utf8proc_int32_t next) {
  utf8proc_int32_t pair[2] = {starter, next};
  const utf8proc_ssize_t n = utf8proc_normalize_utf32(pair, 2, UTF8PROC_COMPOSE);
  return n == 1 ? pair[0] : -1;
}

// NFC of one run with alignment changes: canonical decomposition (a character's first piece
// replaces it, the rest are new), canonical ordering of non-starters (stable, by class), then
// canonical composition, where a composite inherits its parts' changes minus one.
std::vector<AlignedChar> NfcWithChanges(const std::vector<utf8proc_int32_t>& run) {
  std::vector<AlignedChar> decomposed;
  for (utf8proc_int32_t c : run) {
    utf8proc_int32_t pieces[32];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n = utf8proc_decompose_char(c, pieces, 32, UTF8PROC_DECOMPOSE, &boundclass);
    if (n < 1 || n > 32) pieces[0] = c, n = 1;
    for (utf8proc_ssize_t i = 0; i < n; ++i) decomposed.push_back({pieces[i], i > 0 ? 1 : 0});
  }
  for (size_t i = 0; i < decomposed.size();) {
    size_t j = i;
    while (j < decomposed.size() && CombiningClass(decomposed[j].code_point) != 0) ++j;
    std::stable_sort(decomposed.begin() + i, decomposed.begin() + j,
                     [](const AlignedChar& a, const AlignedChar& b) {
                       return CombiningClass(a.code_point) < CombiningClass(b.code_point);
                     });
    i = j + 1;
  }
  std::vector<AlignedChar> out, blocked;
  std::optional<AlignedChar> composee;
  int last_class = -1;  // -1: nothing blocked since the composee
  const auto flush = [&]() {
    if (composee) out.push_back(*composee);
    out.insert(out.end(), blocked.begin(), blocked.end());
    blocked.clear();
    composee.reset();
    last_class = -1;
  };
  for (const AlignedChar& c : decomposed) {
    const int cls = CombiningClass(c.code_point);
    if (!composee) {
      if (cls != 0) {
        out.push_back(c);
      } else {
        composee = c;
      }
      continue;
    }
    if (last_class < 0 || last_class < cls) {
      const utf8proc_int32_t composite = Compose(composee->code_point, c.code_point);
      if (composite >= 0) {
        composee = AlignedChar{composite, composee->change + c.change - 1};
        continue;
      }
    }
    if (cls == 0) {
      flush();
      composee = c;
    } else {
      blocked.push_back(c);
      last_class = cls;
    }
  }
  flush();
  return out;
}

// NFC over runs of one starter and the non-starters after it (composition never crosses such
// a boundary). Offsets follow tokenizers' NormalizedString::transform: a composed character
// takes the origin of the first original character it replaces only (so "e" + U+0301 -> "é"
// reports the "e"'s bytes), a new character the origin of the byte before it.
class NfcNormalizer : public Normalizer {
 public:
  NormalizedText Apply(const NormalizedText& input) const override {
    NormalizedText out;
    const std::string& s = input.text;
    size_t run_begin = 0;
    auto flush = [&](size_t run_end) {
      if (run_end <= run_begin) return;
      if (run_end - run_begin == 1) {  // a lone ASCII starter: nothing to compose
        out.text += s[run_begin];
        out.origin.push_back(input.origin[run_begin]);
        run_begin = run_end;
        return;
      }
      std::vector<utf8proc_int32_t> run;
      for (size_t i = run_begin; i < run_end; i += Utf8Length(static_cast<uint8_t>(s[i]))) {
        run.push_back(DecodeUtf8(s, i));
      }
      size_t offset = run_begin;  // the next original byte to replace
      const auto consume_char = [&]() {
        if (offset < run_end) offset += Utf8Length(static_cast<uint8_t>(s[offset]));
      };
      for (const AlignedChar& c : NfcWithChanges(run)) {
        ByteSpan origin;
        if (c.change > 0) {
          origin = offset > 0 ? input.origin[offset - 1]
                              : ByteSpan{input.origin[0].begin, input.origin[0].begin};
        } else {
          origin = input.origin[std::min(offset, run_end - 1)];
          consume_char();
          for (int removed = 0; removed < -c.change; ++removed) consume_char();
        }
        utf8proc_uint8_t bytes[4];
        const utf8proc_ssize_t n = utf8proc_encode_char(c.code_point, bytes);
        out.Append(std::string(reinterpret_cast<const char*>(bytes), n), origin);
      }
      run_begin = run_end;
    };
    for (size_t i = 0; i < s.size();) {
      const uint8_t lead = static_cast<uint8_t>(s[i]);
      const size_t n = Utf8Length(lead);
      const bool starter = lead < 0x80 || CombiningClass(DecodeUtf8(s, i)) == 0;
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
