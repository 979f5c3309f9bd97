// The fuzz input as a file, for the readers that take a path (safetensors, dataset files):
// one file per fuzzer process, rewritten for every input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace gp {

// The path of the written file, or "" when it could not be written.
inline std::string WriteFuzzInput(const char* name, const uint8_t* data, size_t size) {
  const std::string path =
      std::string("/tmp/") + name + "_" + std::to_string(static_cast<long>(getpid()));
  FILE* file = fopen(path.c_str(), "wb");
  if (file == nullptr) return "";
  const bool written = fwrite(data, 1, size, file) == size;
  return fclose(file) == 0 && written ? path : "";
}

}  // namespace gp
