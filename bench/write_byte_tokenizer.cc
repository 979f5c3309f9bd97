// Writes graphprobe's byte-level tokenizer.json (ids 0..255 are bytes, then the given special
// tokens, the first used as BOS): a tokenizer for checkpoints that ship none.
//   write_byte_tokenizer OUT.json [SPECIAL...]
#include <iostream>

#include "common/core/json_file.h"
#include "common/tokenizer/byte_tokenizer_json.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: write_byte_tokenizer OUT.json [SPECIAL...]\n";
    return 2;
  }
  const absl::Status status = gp::WriteJsonFile(
      argv[1], gp::ByteLevelTokenizerJson(std::vector<std::string>(argv + 2, argv + argc)));
  if (!status.ok()) {
    std::cerr << status.message() << "\n";
    return 1;
  }
  return 0;
}
