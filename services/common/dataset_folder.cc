// Least recently used first, by modification time (TouchDataset on every use).
#include "services/common/dataset_folder.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace gp {

namespace fs = std::filesystem;

void TouchDataset(const std::string& path) {
  std::error_code ignored;  // a dataset trimmed meanwhile is fetched again when next needed
  fs::last_write_time(path, fs::file_time_type::clock::now(), ignored);
}

TrimmedDatasets TrimDatasetFolder(const std::string& dir, int64_t max_bytes, int keep_recent) {
  struct Dataset {
    fs::file_time_type used;
    int64_t bytes;
    fs::path path;
  };
  std::vector<Dataset> datasets;
  int64_t total = 0;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    // Downloads in progress end in .download: not datasets yet.
    if (entry.path().extension() != ".safetensors") continue;
    std::error_code stat_error;
    const auto used = entry.last_write_time(stat_error);
    const auto bytes = entry.file_size(stat_error);
    if (stat_error) continue;
    datasets.push_back({used, static_cast<int64_t>(bytes), entry.path()});
    total += static_cast<int64_t>(bytes);
  }
  std::sort(datasets.begin(), datasets.end(),
            [](const Dataset& a, const Dataset& b) { return a.used > b.used; });
  TrimmedDatasets trimmed;
  // From the least recently used, while over the budget, sparing the most recent.
  for (size_t i = datasets.size(); i-- > static_cast<size_t>(std::max(0, keep_recent));) {
    if (total <= max_bytes) break;
    std::error_code remove_error;
    if (!fs::remove(datasets[i].path, remove_error)) continue;
    total -= datasets[i].bytes;
    ++trimmed.files;
    trimmed.bytes += datasets[i].bytes;
  }
  return trimmed;
}

}  // namespace gp
