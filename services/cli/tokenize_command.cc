// `graphprobe tokenize --tokenizer FILE [--no-special-tokens] < text`
#include "services/cli/tokenize_command.h"

#include <iostream>
#include <iterator>

#include "common/core/status.h"
#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kTokenizeFlags = {
    {"tokenizer", true, "a Hugging Face tokenizer.json"},
    {"no-special-tokens", false, "do not add the post-processor's special tokens (BOS, ...)"},
    {"help", false, "show this help"},
};

absl::Status RunTokenize(const Flags& flags, std::istream& in, std::ostream& out) {
  GP_ASSIGN_OR_RETURN(std::string path, flags.Required("tokenizer"));
  GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromFile(path));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto encoding = tokenizer.Encode(text, !flags.Has("no-special-tokens"));
  if (!encoding.ok()) return Annotate(encoding.status(), "stdin");
  nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
  for (const auto& [begin, end] : encoding->offsets) offsets.push_back({begin, end});
  nlohmann::ordered_json result = {
      {"ids", encoding->ids}, {"tokens", encoding->tokens}, {"offsets", offsets}};
  out << result.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace

int RunTokenizeCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out) {
  return RunSubcommand(
      "tokenize", "graphprobe tokenize --tokenizer FILE [--no-special-tokens] < text",
      kTokenizeFlags, args, out, [&](const Flags& flags) { return RunTokenize(flags, in, out); });
}

}  // namespace gp
