// Device work recorded once and replayed: on a GPU a CUDA graph, which replays a forward pass's
// thousands of kernels as one launch, so the host no longer has to queue them one by one.
// Recorded work must read and write only tensors that outlive the recording (the replayer's
// static buffers) and must not wait for the device on the host; a replay recomputes into the
// very memory the recording wrote.
//
//   std::unique_ptr<Recorder> recorder = MakeRecorder(device);
//   GP_ASSIGN_OR_RETURN(auto recording, recorder->Record([&] { out = Pass(static_in); }));
//   static_in.copy_(next_input);
//   recording->Replay();  // `out` now holds Pass(next_input)
#pragma once

#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gp {

class Recording {
 public:
  virtual ~Recording() = default;
  // Queues the recorded work on the current stream (after the inputs' copies queued there).
  virtual void Replay() = 0;
};

class Recorder {
 public:
  virtual ~Recorder() = default;
  // Records `work`, which may run once or more while recording (a warm-up); what it leaves is
  // not the result: Replay computes that. An error (the work did something a recording cannot
  // hold) leaves the device usable for running `work` directly.
  virtual absl::StatusOr<std::unique_ptr<Recording>> Record(const std::function<void()>& work) = 0;
  // "cuda-graph" or "rerun", for reports.
  virtual std::string name() const = 0;
};

// Replays by running the work again: nothing is saved, but everything around a replay (static
// buffers, padded shapes) runs as with a graph. What a CPU gets, and what the tests check the
// replaying logic with.
class RerunRecorder : public Recorder {
 public:
  absl::StatusOr<std::unique_ptr<Recording>> Record(const std::function<void()>& work) override;
  std::string name() const override { return "rerun"; }
};

// CUDA graphs on a CUDA device when this build has them (GP_CUDA_GRAPHS with a CUDA libtorch),
// every graph of one recorder sharing one memory pool (its work is replayed on one stream, one
// recording at a time); else a RerunRecorder.
std::unique_ptr<Recorder> MakeRecorder(const at::Device& device);

}  // namespace gp
