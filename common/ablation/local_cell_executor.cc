// Datasets and probes in this process.
#include "common/ablation/local_cell_executor.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/ablation/dataset_builder.h"
#include "common/core/status.h"
#include "common/probe/trainer.h"
#include "common/probe/training_artifacts.h"

namespace gp {

namespace fs = std::filesystem;

LocalCellExecutor::LocalCellExecutor(LocalExecutorOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::vector<DatasetHandle>> LocalCellExecutor::BuildFamily(
    const std::vector<DatasetSpec>& specs, const std::atomic<bool>* cancel) {
  std::error_code error;
  fs::create_directories(options_.datasets_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", options_.datasets_dir, ": ", error.message()));
  }
  std::vector<DatasetHandle> handles;
  std::vector<DatasetSpec> missing;
  std::vector<std::string> missing_paths;
  for (const DatasetSpec& spec : specs) {
    DatasetHandle handle;
    handle.key = ContentKey(spec);
    handle.location = (fs::path(options_.datasets_dir) / (handle.key + ".safetensors")).string();
    if (!fs::exists(handle.location)) {
      missing.push_back(spec);
      missing_paths.push_back(handle.location);
    }
    handles.push_back(handle);
  }
  if (!missing.empty()) {
    DatasetBuildOptions build;
    build.cache = &models_;
    build.cancel = cancel;
    GP_RETURN_IF_ERROR(BuildDatasets(missing, missing_paths, build));
  }
  return handles;
}

absl::StatusOr<std::shared_ptr<const ProbeDataset>> LocalCellExecutor::Load(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (loaded_path_ != path) {
    GP_ASSIGN_OR_RETURN(ProbeDataset data, LoadProbeDataset(path));
    loaded_ = std::make_shared<const ProbeDataset>(std::move(data));
    loaded_path_ = path;
  }
  return loaded_;
}

absl::StatusOr<CellResult> LocalCellExecutor::RunCell(const AblationCell& cell,
                                                      const DatasetHandle& dataset,
                                                      const std::atomic<bool>* cancel) {
  GP_ASSIGN_OR_RETURN(std::shared_ptr<const ProbeDataset> data, Load(dataset.location));
  TrainOptions training = cell.training;
  ApplyFeatureLayout(*data, &training.probe);
  const auto start = std::chrono::steady_clock::now();
  GP_ASSIGN_OR_RETURN(TrainResult trained, TrainProbe(*data, training, nullptr, cancel));
  CellResult result = DescribeCell(cell);
  result.val = trained.val;
  result.test = trained.test;
  result.test_interval = trained.test_interval;
  result.best_epoch = trained.best_epoch;
  result.head_ranking = trained.head_ranking;
  result.history = HistoryJson(trained.history, trained.best_epoch);
  result.test_samples = TestSamplesJson(*data, training, trained);
  result.probe_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void LocalCellExecutor::ReleaseDataset(const DatasetHandle& dataset) {
  if (!options_.delete_datasets) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (loaded_path_ == dataset.location) {
      loaded_.reset();
      loaded_path_.clear();
    }
  }
  std::error_code ignored;
  fs::remove(dataset.location, ignored);
}

}  // namespace gp
