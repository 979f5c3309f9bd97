// Tokenizer throughput: tokens/s encoding a 1 MB mixed text (graph prompts, prose, CJK,
// emoji, digits, rare scripts: the golden strings, repeated) with each real tokenizer.json.
// Writes the text so bench/js/tokenizer_bench.mjs can time @lenml/tokenizers on the same bytes.
//   tokenizer_bench --tokenizers DIR --text-out FILE [--repeats 3]
#include <chrono>
#include <fstream>
#include <iostream>

#include "absl/strings/str_format.h"
#include "common/core/json_file.h"
#include "common/tokenizer/tokenizer.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kFlags = {
    {"tokenizers", true,
     "folder with llama3/qwen3/gemma3.tokenizer.json (tests/fetch_tokenizers.sh)"},
    {"text-out", true, "write the benchmark text here"},
    {"repeats", true, "timed encodes per tokenizer; the fastest counts (default 3)"},
};

absl::Status Run(const Flags& flags) {
  auto golden = ReadJsonFile(GP_SOURCE_DIR "/tests/data/hf-reference/tokenizer_golden.json");
  if (!golden.ok()) return golden.status();
  std::string text;
  while (text.size() < (1 << 20)) {
    for (const auto& s : (*golden)["strings"]) text += s.get<std::string>() + "\n";
  }
  if (flags.Has("text-out")) std::ofstream(flags.Get("text-out", ""), std::ios::binary) << text;
  const int64_t repeats = *flags.Int("repeats", 3);
  std::cout << absl::StrFormat("text: %d bytes; fastest of %d encodes, 1 thread\n\n", text.size(),
                               repeats);
  std::cout
      << "| tokenizer | tokens | graphprobe tokens/s | graphprobe MB/s |\n|---|---|---|---|\n";
  for (const char* key : {"llama3", "qwen3", "gemma3"}) {
    auto tokenizer =
        Tokenizer::FromFile(flags.Get("tokenizers", ".") + "/" + key + ".tokenizer.json");
    if (!tokenizer.ok()) return tokenizer.status();
    double best = 1e30;
    size_t count = 0;
    for (int64_t i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto encoding = tokenizer->Encode(text, false);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      count = encoding.ok() ? encoding->ids.size() : 0;
    }
    std::cout << absl::StrFormat("| %s | %d | %.0f | %.2f |\n", key, count, count / best,
                                 text.size() / best / 1e6);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  return gp::RunSubcommand("tokenizer_bench", "tokenizer_bench [flags]", gp::kFlags,
                           std::vector<std::string>(argv + 1, argv + argc), std::cout, gp::Run);
}
