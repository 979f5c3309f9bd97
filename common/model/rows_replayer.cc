#include "common/model/rows_replayer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/core/status.h"
#include "common/model/device_copy.h"

namespace gp {

struct RowsReplayer::Recorded {
  at::Tensor ids, mask, positions;  // static inputs on the device, copied into for each replay
  std::shared_ptr<at::Tensor> rows = std::make_shared<at::Tensor>();  // what the recording wrote
  std::unique_ptr<Recording> recording;
};

namespace {

int64_t RoundUp(int64_t n, int64_t step) {
  step = std::max<int64_t>(step, 1);
  return (n + step - 1) / step * step;
}

// `t` [B, X] padded with zeros to [batch, width].
at::Tensor PadTo(const at::Tensor& t, int64_t batch, int64_t width) {
  if (t.size(0) == batch && t.size(1) == width) return t;
  return at::constant_pad_nd(t, {0, width - t.size(1), 0, batch - t.size(0)}, 0);
}

ForwardOptions CapturingRowsAt(const at::Tensor& positions, AttentionKernel kernel) {
  ForwardOptions options;
  options.capture = ForwardOptions::Capture::kPositionRows;
  options.capture_positions = positions;
  options.attention_kernel = kernel;
  return options;
}

}  // namespace

RowsReplayer::RowsReplayer(const DecoderModel* model, std::unique_ptr<Recorder> recorder,
                           ReplayOptions options)
    : model_(model), recorder_(std::move(recorder)), options_(options) {}

RowsReplayer::~RowsReplayer() = default;

absl::StatusOr<at::Tensor> RowsReplayer::Rows(const at::Tensor& ids, const at::Tensor& mask,
                                              const at::Tensor& positions) {
  if (!ids.defined() || !mask.defined() || !positions.defined() || !ids.device().is_cpu() ||
      !mask.device().is_cpu() || !positions.device().is_cpu()) {
    return absl::InvalidArgumentError(
        "RowsReplayer::Rows takes ids, mask and positions on the host");
  }
  GP_RETURN_IF_ERROR(
      model_->CheckForwardInputs(ids, mask, CapturingRowsAt(positions, options_.kernel)));
  c10::InferenceMode inference;
  const int64_t batch = ids.size(0), length = ids.size(1), count = positions.size(1);
  const ShapeSteps& steps = options_.steps;
  const Shape shape{RoundUp(batch, steps.batch), RoundUp(length, steps.length),
                    RoundUp(count, steps.positions)};
  const auto [padded_batch, padded_length, padded_count] = shape;
  const at::Tensor padded_ids = PadTo(ids, padded_batch, padded_length);
  at::Tensor padded_mask = PadTo(mask, padded_batch, padded_length);
  if (padded_batch > batch) {
    // A padding row is one token long: a row must have one (a fully masked row is not a
    // sequence).
    padded_mask = padded_mask.clone();
    padded_mask.narrow(0, batch, padded_batch - batch).select(1, 0).fill_(1);
  }
  const at::Tensor padded_positions = PadTo(positions, padded_batch, padded_count);
  try {
    at::Tensor rows = Replayed(shape, padded_ids, padded_mask, padded_positions);
    const bool replayed = rows.defined();
    if (!replayed) {
      const at::Device device = model_->options().device;
      rows =
          model_
              ->ForwardRecordable(ToDeviceWithoutWaiting(padded_ids, device),
                                  ToDeviceWithoutWaiting(padded_mask, device),
                                  CapturingRowsAt(ToDeviceWithoutWaiting(padded_positions, device),
                                                  options_.kernel))
              .attention_rows;
      ++stats_.direct;
    }
    rows = rows.narrow(1, 0, batch).narrow(3, 0, count).narrow(4, 0, length);
    // A replay's output is overwritten by the next replay: copied out (queued on the device
    // before it, so no wait). A direct pass's output is its own already.
    return replayed ? rows.clone(at::MemoryFormat::Contiguous) : rows;
  } catch (const c10::Error& e) {
    return ForwardFailure(e);
  }
}

at::Tensor RowsReplayer::Replayed(const Shape& shape, const at::Tensor& ids, const at::Tensor& mask,
                                  const at::Tensor& positions) {
  auto found = recorded_.find(shape);
  if (found != recorded_.end()) {
    Recorded& r = *found->second;
    CopyWithoutWaiting(ids, r.ids);
    CopyWithoutWaiting(mask, r.mask);
    CopyWithoutWaiting(positions, r.positions);
    r.recording->Replay();
    ++stats_.replayed;
    return *r.rows;
  }
  if (++seen_[shape] < 2 || static_cast<int>(recorded_.size()) >= options_.max_recordings ||
      !stats_.recording_failure.empty()) {
    return at::Tensor();
  }
  auto r = std::make_unique<Recorded>();
  const at::Device device = model_->options().device;
  // Copies of their own (to a CPU `to` would alias the caller's tensors): the recording reads
  // these very buffers on every replay.
  r->ids = ids.to(device, /*non_blocking=*/false, /*copy=*/true);
  r->mask = mask.to(device, /*non_blocking=*/false, /*copy=*/true);
  r->positions = positions.to(device, /*non_blocking=*/false, /*copy=*/true);
  // The tensors by value, as a graph holds their addresses: the replays see what is copied
  // into them, never a tensor assigned in their place.
  std::function<void()> work = [model = model_, ids = r->ids, mask = r->mask,
                                positions = r->positions, rows = r->rows,
                                kernel = options_.kernel] {
    *rows = model->ForwardRecordable(ids, mask, CapturingRowsAt(positions, kernel)).attention_rows;
  };
  absl::StatusOr<std::unique_ptr<Recording>> recording = recorder_->Record(work);
  if (!recording.ok()) {
    stats_.recording_failure =
        absl::StrCat("recording a pass of shape [", std::get<0>(shape), ", ", std::get<1>(shape),
                     "] with ", std::get<2>(shape), " positions: ", recording.status().message());
    return at::Tensor();
  }
  r->recording = *std::move(recording);
  ++stats_.recorded;
  r->recording->Replay();
  ++stats_.replayed;
  at::Tensor rows = *r->rows;
  recorded_.emplace(shape, std::move(r));
  return rows;
}

}  // namespace gp
