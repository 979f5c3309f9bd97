// libFuzzer target: arbitrary bytes as a dataset file (what a trainer fetches from a feature
// service). The contract check either fails with a status or accepts tensors whose shapes agree,
// so the loader can make tensors of them without reading outside the mapping.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/core/safetensors.h"
#include "common/probe/dataset_layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/gp_dataset_fuzz_" + std::to_string(getpid());
  FILE* file = fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  fwrite(data, 1, size, file);
  fclose(file);
  absl::StatusOr<gp::SafetensorsFile> opened = gp::SafetensorsFile::Open(path);
  if (!opened.ok()) return 0;
  absl::StatusOr<gp::DatasetViews> views = gp::DatasetViewsOf(*opened, path);
  if (!views.ok()) return 0;
  absl::StatusOr<gp::DatasetShape> shape = gp::CheckDatasetViews(*views, path);
  if (!shape.ok()) return 0;
  const int64_t g = shape->graphs, n = shape->nodes;
  if (g <= 0 || views->adjacency.shape != std::vector<int64_t>{g, n, n} ||
      views->split.shape != std::vector<int64_t>{g} ||
      views->features.nbytes != static_cast<size_t>(g * n * n * shape->features) * 4) {
    __builtin_trap();
  }
  return 0;
}
