// The trainer's folder of fetched datasets as a cache with a byte budget: a dataset is fetched
// once per content key and used by the cells that follow, but a trainer serving ablation after
// ablation must not keep every one it ever fetched. (The feature service, whose datasets belong
// to jobs, marks the ones it serves with TouchDataset too: job_retention.h.)
#pragma once

#include <cstdint>
#include <string>

namespace gp {

struct TrimmedDatasets {
  int files = 0;
  int64_t bytes = 0;
};

// Marks `path` as just used (its modification time), so that trimming keeps it longest.
void TouchDataset(const std::string& path);

// Deletes the least recently used `*.safetensors` of `dir` until they take at most `max_bytes`,
// never the `keep_recent` most recently used (the datasets of jobs between their fetch and
// their load). A deleted dataset that is needed again is fetched again.
TrimmedDatasets TrimDatasetFolder(const std::string& dir, int64_t max_bytes, int keep_recent);

}  // namespace gp
