// CUDA graphs through libtorch's at::cuda::CUDAGraph: built only against a CUDA libtorch
// (GP_CUDA_GRAPHS), as the one file of the project that includes CUDA headers.
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/version.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model/recording.h"

namespace gp {
namespace {

class CudaGraphRecording : public Recording {
 public:
  // On the current stream, like the kernels it replaces.
  void Replay() override { graph.replay(); }

  at::cuda::CUDAGraph graph;
};

// Ends a capture that `work` broke off by throwing, so that the device runs work again: a
// capture the error invalidated ends with an error of its own, which adds nothing.
void EndBrokenCapture(at::cuda::CUDAGraph& graph) {
  try {
    graph.capture_end();
  } catch (const c10::Error&) {
  }
}

class CudaGraphRecorder : public Recorder {
 public:
  explicit CudaGraphRecorder(const at::Device& device)
      : device_(device), pool_(at::cuda::graph_pool_handle()) {}

  absl::StatusOr<std::unique_ptr<Recording>> Record(const std::function<void()>& work) override {
    auto recording = std::make_unique<CudaGraphRecording>();
    try {
      const c10::cuda::CUDAGuard on_device(device_);
      const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device_.index());
      // A graph is captured on a stream other than the default one; that stream starts after
      // what the caller queued (the copies into the static inputs).
      const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device_.index());
      at::cuda::CUDAEvent inputs_copied;
      inputs_copied.record(caller);
      inputs_copied.block(side);
      const c10::cuda::CUDAStreamGuard on_side(side);
      // What a first run on a stream sets up lazily (cuBLAS handles and their workspaces) must
      // not happen inside the capture.
      work();
      side.synchronize();
#if TORCH_VERSION_MAJOR >= 2
      // Thread-local: another thread's CUDA calls during the capture (a service's other work)
      // neither break it nor fail.
      recording->graph.capture_begin(pool_, cudaStreamCaptureModeThreadLocal);
#else
      recording->graph.capture_begin(pool_);
#endif
      try {
        work();
      } catch (...) {
        EndBrokenCapture(recording->graph);
        throw;
      }
      recording->graph.capture_end();
      at::cuda::CUDAEvent recorded;
      recorded.record(side);
      recorded.block(caller);
    } catch (const c10::Error& e) {
      return absl::InternalError(
          absl::StrCat("recording a CUDA graph failed: ", e.what_without_backtrace()));
    }
    return std::unique_ptr<Recording>(std::move(recording));
  }

  std::string name() const override { return "cuda-graph"; }

 private:
  at::Device device_;
  // One pool for every graph of this recorder: they are replayed one at a time on one stream,
  // and each one's output is copied out before the next replay, so they can share memory.
  decltype(at::cuda::graph_pool_handle()) pool_;
};

}  // namespace

std::unique_ptr<Recorder> MakeCudaGraphRecorder(const at::Device& device) {
  return std::make_unique<CudaGraphRecorder>(device);
}

}  // namespace gp
