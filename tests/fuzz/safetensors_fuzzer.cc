// libFuzzer target: arbitrary bytes as a .safetensors file. Open must accept a valid file and
// refuse anything else with a status (never crash, never read outside the mapping); every
// tensor of an accepted file is read end to end.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/gp_safetensors_fuzz_" + std::to_string(getpid());
  FILE* file = fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  fwrite(data, 1, size, file);
  fclose(file);
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
