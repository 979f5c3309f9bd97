// ByteLevel, Replace, ByteFallback, Fuse, Metaspace and Sequence decoders.
#include "common/tokenizer/decoder.h"

#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/core/status.h"
#include "common/tokenizer/byte_level.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/utf8.h"

namespace gp {
namespace {

const char* const kReplacementChar = "\xef\xbf\xbd";

class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const auto& token : tokens) {
      for (size_t i = 0; i < token.size();) {
        const size_t n = Utf8Length(static_cast<uint8_t>(token[i]));
        const int byte = UnicodeToByte(DecodeUtf8(token, i));
        if (byte >= 0) {
          bytes.push_back(static_cast<char>(byte));
        } else {
          bytes.append(token, i, n);
        }
        i += n;
      }
    }
    return {LossyUtf8(bytes)};
  }
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    for (auto& t : tokens) t = absl::StrReplaceAll(t, {{pattern_, content_}});
    return tokens;
  }

 private:
  std::string pattern_, content_;
};

// Runs of <0xNN> tokens become the text of their bytes (U+FFFD per byte if not valid UTF-8).
class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (ValidateUtf8(pending).ok()) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.push_back(kReplacementChar);
      }
      pending.clear();
      pending_count = 0;
    };
    for (const auto& t : tokens) {
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(t[3]) &&
          std::isxdigit(t[4])) {
        pending.push_back(static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
        ++pending_count;
      } else {
        flush();
        out.push_back(t);
      }
    }
    flush();
    return out;
  }
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    return {absl::StrJoin(tokens, "")};
  }
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      tokens[i] = absl::StrReplaceAll(tokens[i], {{replacement_, " "}});
      if (i == 0 && strip_first_ && !tokens[i].empty() && tokens[i][0] == ' ')
        tokens[i].erase(0, 1);
    }
    return tokens;
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  std::vector<std::string> Apply(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->Apply(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::string LossyUtf8(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t c = static_cast<uint8_t>(bytes[i]);
    size_t n = c < 0x80 ? 1 : Utf8Length(c);
    if (n == 1 && c >= 0x80) n = 0;  // stray continuation or invalid lead byte
    if (n > 0 && i + n <= bytes.size() && ValidateUtf8(std::string_view(bytes).substr(i, n)).ok()) {
      out.append(bytes, i, n);
      i += n;
      continue;
    }
    // Skip the maximal prefix of a valid sequence (at least one byte), then one U+FFFD.
    size_t skip = 1;
    while (n > 1 && skip < n && i + skip < bytes.size() &&
           (static_cast<uint8_t>(bytes[i + skip]) & 0xc0) == 0x80 &&
           ValidateUtf8(std::string(bytes, i, skip + 1) + std::string(n - skip - 1, '\x80')).ok()) {
      ++skip;
    }
    out += kReplacementChar;
    i += skip;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const nlohmann::json& node,
                                                     const std::string& path) {
  if (node.is_null()) return std::unique_ptr<Decoder>();
  GP_ASSIGN_OR_RETURN(std::string type, StringField(node, path, "type"));
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Replace") {
    if (!node.contains("pattern") || !node["pattern"].contains("String")) {
      return TokenizerJsonError(path + ".pattern",
                                "only {\"String\": ...} patterns are supported in decoders");
    }
    GP_ASSIGN_OR_RETURN(std::string content, StringField(node, path, "content"));
    return std::unique_ptr<Decoder>(
        new ReplaceDecoder(node["pattern"]["String"].get<std::string>(), content));
  }
  if (type == "Metaspace") {
    std::string replacement = "\xe2\x96\x81";
    if (node.contains("replacement") && node["replacement"].is_string())
      replacement = node["replacement"];
    bool strip = !(node.contains("add_prefix_space") && node["add_prefix_space"] == false);
    if (node.contains("prepend_scheme") && node["prepend_scheme"] == "never") strip = false;
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(replacement, strip));
  }
  if (type == "Sequence") {
    if (!node.contains("decoders") || !node["decoders"].is_array()) {
      return TokenizerJsonError(path + ".decoders", "missing or not an array");
    }
    std::vector<std::unique_ptr<Decoder>> steps;
    for (size_t i = 0; i < node["decoders"].size(); ++i) {
      GP_ASSIGN_OR_RETURN(
          auto step, MakeDecoder(node["decoders"][i], absl::StrCat(path, ".decoders[", i, "]")));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
  }
  return UnsupportedComponent(path, node);
}

}  // namespace gp
