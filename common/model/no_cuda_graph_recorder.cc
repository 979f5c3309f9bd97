// A build without CUDA graphs (a CPU libtorch, or GP_CUDA_GRAPHS=OFF): MakeRecorder reruns.
#include "common/model/recording.h"

namespace gp {

std::unique_ptr<Recorder> MakeCudaGraphRecorder(const at::Device&) { return nullptr; }

}  // namespace gp
