// libFuzzer target: arbitrary bytes as a .safetensors file. Open must accept a valid file and
// refuse anything else with a status (never crash, never read outside the mapping); every
// tensor of an accepted file is read end to end.
#include <cstdint>
#include <string>

#include "common/core/safetensors.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = gp::WriteFuzzInput("gp_safetensors_fuzz", data, size);
  if (path.empty()) return 0;
  absl::StatusOr<gp::SafetensorsFile> opened = gp::SafetensorsFile::Open(path);
  if (opened.ok()) {
    uint64_t sum = 0;
    for (const std::string& name : opened->names()) {
      absl::StatusOr<gp::TensorView> view = opened->Get(name);
      if (!view.ok()) __builtin_trap();  // a listed tensor must be there
      for (size_t i = 0; i < view->nbytes; ++i) sum += view->data[i];  // inside the mapping
    }
    __asm__ volatile("" : : "r"(sum));  // keep the reads
  }
  return 0;
}
