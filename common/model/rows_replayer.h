// Forward passes that keep the rows of given positions ([L, B, H, K, T], what the capture path
// pools), replayed from a recording (a CUDA graph on a GPU, recording.h) for input shapes that
// repeat.
//
// Why: on a GPU, a small model's batch can be bound by the host queueing the pass's kernels one
// by one (about 1300 top-level ops per batch of Llama 3.2 1B); a graph replays them as one
// launch. Shapes are made to repeat by padding: the batch, the length and the positions round
// up to multiples of ShapeSteps (padded keys are masked, padded rows and positions dropped: the
// rows are the unpadded pass's up to summation order). A shape is recorded the second time it
// is seen (one seen once is not worth a recording), at most `max_recordings` shapes; other
// passes run directly, padded the same way.
//
//   RowsReplayer replayer(&model, MakeRecorder(model.options().device));
//   GP_ASSIGN_OR_RETURN(at::Tensor rows, replayer.Rows(ids, mask, positions));
//
// One thread at a time (a dataset build, the extractor's batcher, a benchmark); the model must
// outlive the replayer.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "common/model/decoder_model.h"
#include "common/model/recording.h"

namespace gp {

// What each dimension of a pass's inputs rounds up to a multiple of (values below 1 count as 1).
// Multiples of 8 also suit the fused attention kernels' alignment.
struct ShapeSteps {
  int64_t batch = 8, length = 8, positions = 8;
};

struct ReplayOptions {
  ShapeSteps steps;
  int max_recordings = 8;  // shapes recorded at most (each holds its output's memory)
  AttentionKernel kernel = AttentionKernel::kAuto;
};

struct ReplayStats {
  int64_t direct = 0;    // passes run directly: a shape not seen before, or no room left
  int64_t recorded = 0;  // shapes recorded
  int64_t replayed = 0;  // passes replayed (the one right after each recording included)
  // The first recording that failed (then nothing more is recorded); empty when none did.
  std::string recording_failure;
};

class RowsReplayer {
 public:
  RowsReplayer(const DecoderModel* model, std::unique_ptr<Recorder> recorder,
               ReplayOptions options = {});
  ~RowsReplayer();

  // What model.Forward(ids, mask, {kPositionRows, positions, kernel}).attention_rows gives, [L, B,
  // H, K, T] on the model's device, a tensor of its own (a replay's output is copied out before the
  // next replay overwrites it). ids, mask: host I64 [B, T]; positions: host I64 [B, K]. Forward's
  // errors for bad inputs (InvalidArgument) and for failed passes.
  absl::StatusOr<at::Tensor> Rows(const at::Tensor& ids, const at::Tensor& mask,
                                  const at::Tensor& positions);

  const DecoderModel& model() const { return *model_; }
  const Recorder& recorder() const { return *recorder_; }
  const ReplayStats& stats() const { return stats_; }

 private:
  using Shape = std::tuple<int64_t, int64_t, int64_t>;  // padded batch, length, positions
  struct Recorded;  // one shape's static inputs, output and recording

  // The padded pass replayed, recorded first when its shape repeats and there is room;
  // undefined when it is to run directly.
  at::Tensor Replayed(const Shape& shape, const at::Tensor& ids, const at::Tensor& mask,
                      const at::Tensor& positions);

  const DecoderModel* model_;
  std::unique_ptr<Recorder> recorder_;
  ReplayOptions options_;
  std::map<Shape, int> seen_;
  std::map<Shape, std::unique_ptr<Recorded>> recorded_;
  ReplayStats stats_;
};

}  // namespace gp
