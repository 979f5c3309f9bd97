// The three real tokenizer.json files (fetched by tests/fetch_tokenizers.sh), loaded once per
// test binary.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "common/tokenizer/tokenizer.h"

namespace gp::testing {

// key: llama3, qwen3 or gemma3. Aborts the binary when the files were not fetched.
inline const Tokenizer& RealTokenizer(const std::string& key) {
  static auto* cache = new std::map<std::string, Tokenizer>();
  auto it = cache->find(key);
  if (it == cache->end()) {
    auto tokenizer =
        Tokenizer::FromFile(std::string(GP_TOKENIZER_CACHE) + "/" + key + ".tokenizer.json");
    if (!tokenizer.ok()) {
      ADD_FAILURE() << tokenizer.status() << " (run tests/fetch_tokenizers.sh "
                    << GP_TOKENIZER_CACHE << ")";
      std::abort();
    }
    it = cache->emplace(key, *std::move(tokenizer)).first;
  }
  return it->second;
}

}  // namespace gp::testing
