// A CellExecutor that does everything in this process: datasets are built from a model of a
// shared cache into DIR/KEY.safetensors (a file already there is reused: that is the resume)
// and probes train on them here. One build and one cell at a time by default: both use every
// core.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/ablation/attention_source.h"
#include "common/ablation/cell_executor.h"
#include "common/probe/dataset.h"

namespace gp {

struct LocalExecutorOptions {
  std::string datasets_dir;
  bool delete_datasets = false;  // remove a dataset file once its cells are done
  int build_slots = 1;
  int cell_slots = 1;
};

class LocalCellExecutor : public CellExecutor {
 public:
  explicit LocalCellExecutor(LocalExecutorOptions options);

  absl::StatusOr<std::vector<DatasetHandle>> BuildFamily(const std::vector<DatasetSpec>& specs,
                                                         const std::atomic<bool>* cancel) override;
  absl::StatusOr<CellResult> RunCell(const AblationCell& cell, const DatasetHandle& dataset,
                                     const std::atomic<bool>* cancel) override;
  void ReleaseDataset(const DatasetHandle& dataset) override;
  int BuildSlots() override { return options_.build_slots; }
  int CellSlots() override { return options_.cell_slots; }

 private:
  absl::StatusOr<std::shared_ptr<const ProbeDataset>> Load(const std::string& path);

  LocalExecutorOptions options_;
  ModelCache models_{2};  // a model and its random-init twin stay loaded across families
  std::mutex mutex_;      // the loaded dataset
  std::string loaded_path_;
  std::shared_ptr<const ProbeDataset> loaded_;
};

}  // namespace gp
