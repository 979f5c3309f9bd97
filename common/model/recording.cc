#include "common/model/recording.h"

#include <utility>

namespace gp {

// cuda_graph_recorder.cc, or no_cuda_graph_recorder.cc in a build without CUDA graphs
// (nullptr).
std::unique_ptr<Recorder> MakeCudaGraphRecorder(const at::Device& device);

namespace {

class Rerun : public Recording {
 public:
  explicit Rerun(std::function<void()> work) : work_(std::move(work)) {}
  void Replay() override { work_(); }

 private:
  std::function<void()> work_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Recording>> RerunRecorder::Record(
    const std::function<void()>& work) {
  return std::make_unique<Rerun>(work);
}

std::unique_ptr<Recorder> MakeRecorder(const at::Device& device) {
  if (device.is_cuda()) {
    if (std::unique_ptr<Recorder> graphs = MakeCudaGraphRecorder(device)) return graphs;
  }
  return std::make_unique<RerunRecorder>();
}

}  // namespace gp
