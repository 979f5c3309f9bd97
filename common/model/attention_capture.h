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
  // need, still far smaller than T x T).
  static AttentionCapture RowsAtPositions(at::Tensor positions) {
    AttentionCapture capture(true, std::move(positions));
    capture.rows_only_ = true;
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
  std::vector<at::Tensor> TakeLayers() { return std::move(layers_); }

 private:
  AttentionCapture(bool enabled, at::Tensor positions)
      : enabled_(enabled), positions_(std::move(positions)) {}
  bool enabled_ = false;
  bool rows_only_ = false;
  at::Tensor positions_;
  std::vector<at::Tensor> layers_;
};

}  // namespace gp
