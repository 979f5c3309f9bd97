// libFuzzer target: arbitrary bytes as a dataset file (what a trainer fetches from a feature
// service). The contract check either fails with a status or accepts tensors whose shapes agree,
// so the loader can make tensors of them without reading outside the mapping.
#include <cstdint>
#include <string>
#include <vector>

#include "common/core/safetensors.h"
#include "common/probe/dataset_layout.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = gp::WriteFuzzInput("gp_dataset_fuzz", data, size);
  if (path.empty()) return 0;
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
