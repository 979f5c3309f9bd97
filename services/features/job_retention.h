// The feature service's finished jobs as a store with two budgets. Each finished job keeps its
// record (DATA/jobs/ID.json) and its files (DATA/datasets/KEY.safetensors, or the checkpoints
// KEY.safetensors.partial of one that failed or was cancelled) until it is among the least
// recently used beyond --keep-finished-jobs jobs or --max-dataset-gb of files; then it is
// forgotten, record and files. Nothing is lost for good: the same request builds it again, and
// a trainer that finds a dataset gone has the coordinator build its family again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace gp {

struct StoredJob {
  std::string id;
  std::vector<std::string> files;  // its files that exist
  std::vector<int64_t> file_bytes;
  // Its latest use: the last write of its record (at every change) or of one of its files
  // (written by the build, touched whenever GetDataset serves it).
  std::filesystem::file_time_type used;
};

// `id`'s record file and the files of `dataset_paths` (with their checkpoints) that exist.
StoredJob StatStoredJob(const std::string& id, const std::string& record_path,
                        const std::vector<std::string>& dataset_paths);

struct RetentionLimits {
  int64_t max_jobs = 10000;
  int64_t max_bytes = 0;
  int keep_recent = 1;  // the most recently used never forgotten (jobs that just ended)
};

struct Retained {
  int forgotten = 0;
  int64_t bytes_deleted = 0;
  int64_t bytes = 0;  // the files of every job after
};

// Forgets the least recently used of `finished`, sparing the `keep_recent` most recent, until
// at most `max_jobs` remain and the files of all jobs (the unfinished ones' `in_use` files
// counted, never deleted) take at most `max_bytes`. `forget(id)` drops a job's entry and record,
// or answers false when it cannot now (it is skipped). A file that another remaining job or
// `in_use` lists stays.
Retained ForgetLeastRecentlyUsed(std::vector<StoredJob> finished,
                                 const std::set<std::string>& in_use, const RetentionLimits& limits,
                                 const std::function<bool(const std::string& id)>& forget);

}  // namespace gp
