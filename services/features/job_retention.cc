// Least recently used first, by the modification times of a job's record and files.
#include "services/features/job_retention.h"

#include <algorithm>
#include <map>
#include <system_error>

namespace gp {

namespace fs = std::filesystem;

StoredJob StatStoredJob(const std::string& id, const std::string& record_path,
                        const std::vector<std::string>& dataset_paths) {
  StoredJob job;
  job.id = id;
  std::error_code error;
  job.used = fs::last_write_time(record_path, error);
  if (error) job.used = fs::file_time_type::min();
  for (const std::string& dataset : dataset_paths) {
    for (const std::string& path : {dataset, dataset + ".partial"}) {
      std::error_code stat_error;
      const auto bytes = fs::file_size(path, stat_error);
      if (stat_error) continue;  // not built (yet), or deleted
      job.files.push_back(path);
      job.file_bytes.push_back(static_cast<int64_t>(bytes));
      const auto written = fs::last_write_time(path, stat_error);
      if (!stat_error) job.used = std::max(job.used, written);
    }
  }
  return job;
}

Retained ForgetLeastRecentlyUsed(std::vector<StoredJob> finished,
                                 const std::set<std::string>& in_use, const RetentionLimits& limits,
                                 const std::function<bool(const std::string& id)>& forget) {
  // Each file once, however many jobs list it (two requests that share a feature mode share
  // its dataset), with how many do.
  struct File {
    int64_t bytes = 0;
    int holders = 0;
  };
  std::map<std::string, File> files;
  for (const StoredJob& job : finished) {
    for (size_t i = 0; i < job.files.size(); ++i) {
      File& file = files[job.files[i]];
      file.bytes = job.file_bytes[i];
      ++file.holders;
    }
  }
  for (const std::string& path : in_use) {
    std::error_code error;
    const auto bytes = fs::file_size(path, error);
    File& file = files[path];
    if (!error) file.bytes = static_cast<int64_t>(bytes);
    ++file.holders;
  }
  Retained retained;
  for (const auto& [path, file] : files) retained.bytes += file.bytes;

  std::sort(finished.begin(), finished.end(),
            [](const StoredJob& a, const StoredJob& b) { return a.used > b.used; });
  auto remaining = static_cast<int64_t>(finished.size());
  for (size_t i = finished.size(); i-- > static_cast<size_t>(std::max(0, limits.keep_recent));) {
    if (remaining <= limits.max_jobs && retained.bytes <= limits.max_bytes) break;
    if (!forget(finished[i].id)) continue;
    --remaining;
    ++retained.forgotten;
    for (const std::string& path : finished[i].files) {
      File& file = files[path];
      if (--file.holders > 0) continue;
      std::error_code error;
      fs::remove(path, error);
      if (error) continue;  // counted still: it is still there
      retained.bytes -= file.bytes;
      retained.bytes_deleted += file.bytes;
    }
  }
  return retained;
}

}  // namespace gp
