// A scratch checkpoint directory for the ablation tests: the tiny Llama 3 reference weights
// with a byte-level tokenizer.json, under a per-process temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/core/json_file.h"
#include "common/tokenizer/byte_tokenizer_json.h"
#include "tests/test_data.h"

namespace gp::testing {

// Creates TMP/<prefix><pid>/model and returns TMP/<prefix><pid>.
inline std::filesystem::path MakeTinyModelScratchDir(const std::string& prefix) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / (prefix + std::to_string(::getpid()));
  fs::create_directories(dir / "model");
  const fs::path src = fs::path(GP_TEST_DATA) / "hf-reference/models/tiny-llama3";
  for (const char* f : {"config.json", "model.safetensors"}) {
    fs::copy_file(src / f, dir / "model" / f, fs::copy_options::overwrite_existing);
  }
  EXPECT_TRUE(WriteJsonFile((dir / "model/tokenizer.json").string(),
                            ByteLevelTokenizerJson({"<|begin_of_text|>"}))
                  .ok());
  return dir;
}

}  // namespace gp::testing
