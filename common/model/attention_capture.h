// Which attention probabilities a forward pass keeps: every layer's full [B, H, T, T] maps, or
// only the rows and columns of given positions ([B, H, K, K]), so callers that need node tokens
// only never hold T x T for all layers.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace gp {

class AttentionCapture {
 public:
  // Keeps nothing.
  AttentionCapture() = default;
  // Keeps full maps when `positions` is undefined, else positions I64 [B, K] (validated by the
  // caller) of each sequence.
  static AttentionCapture All() { return AttentionCapture(true, at::Tensor()); }
  static AttentionCapture AtPositions(at::Tensor positions) {
    return AttentionCapture(true, std::move(positions));
  }
  // Keeps the rows of `positions` over every key: [B, H, K, T] (what argmax / top-k features
  // need, still far smaller than T x T). Every layer's rows land in one buffer
  // [num_layers, B, H, K, T] allocated at the first layer, written in place, never stacked
  // afterwards (StackedRows).
  static AttentionCapture RowsAtPositions(at::Tensor positions, int64_t num_layers) {
    AttentionCapture capture(true, std::move(positions));
    capture.rows_only_ = true;
    capture.num_layers_ = num_layers;
    return capture;
  }

  bool enabled() const { return enabled_; }
  // Whether whole [B, H, T, T] maps are kept (else only the rows of positions()).
  bool keeps_full_maps() const { return enabled_ && !positions_.defined(); }
  // I64 [B, K], undefined when full maps are kept.
  const at::Tensor& positions() const { return positions_; }
  // Takes one layer's float32 probabilities [B, H, T, T].
  void Record(const at::Tensor& probabilities);
  // Takes one layer's float32 probabilities of the positions' query rows only, [B, H, K, T]
  // (a pass that never materializes the other rows). Only when !keeps_full_maps().
  void RecordRows(const at::Tensor& rows);
  // Takes one layer's scores of the positions' query rows [B, H, K, T] (masked, before the
  // softmax) and keeps their float32 softmax (for rows only, computed straight into the
  // layer's buffer slot).
  void RecordRowScores(const at::Tensor& scores);
  // Per layer (for rows only, views of the buffer).
  std::vector<at::Tensor> TakeLayers();
  // For rows only, the buffer [num_layers, B, H, K, T] once every layer has been recorded;
  // undefined otherwise.
  const at::Tensor& StackedRows() const { return stacked_; }

 private:
  AttentionCapture(bool enabled, at::Tensor positions)
      : enabled_(enabled), positions_(std::move(positions)) {}
  // The next layer's slot of the rows buffer, allocated at the first layer.
  at::Tensor NextSlot(const at::Tensor& like);

  bool enabled_ = false;
  bool rows_only_ = false;
  int64_t num_layers_ = 0;  // rows only: the buffer's first dimension
  int64_t recorded_layers_ = 0;
  at::Tensor positions_;
  at::Tensor stacked_;
  std::vector<at::Tensor> layers_;
};

}  // namespace gp
