// Keeps full attention maps or gathers the rows and columns of chosen positions.
#include "common/model/attention_capture.h"

#include <ATen/ATen.h>

namespace gp {

void AttentionCapture::Record(const at::Tensor& probabilities) {
  if (!enabled_) return;
  if (!positions_.defined()) {
    layers_.push_back(probabilities);
    return;
  }
  const int64_t batch = probabilities.size(0), heads = probabilities.size(1),
                length = probabilities.size(3);
  const int64_t k = positions_.size(1);
  at::Tensor rows_index = positions_.view({batch, 1, k, 1}).expand({batch, heads, k, length});
  RecordRows(probabilities.gather(2, rows_index));  // [B, H, K, T]
}

at::Tensor AttentionCapture::NextSlot(const at::Tensor& like) {
  if (!stacked_.defined()) {
    std::vector<int64_t> sizes = {num_layers_};
    for (int64_t size : like.sizes()) sizes.push_back(size);
    stacked_ = at::empty(sizes, like.options().dtype(at::kFloat));
  }
  return stacked_[recorded_layers_++];  // a layer too many is an index error
}

void AttentionCapture::RecordRowScores(const at::Tensor& scores) {
  if (!enabled_) return;
  if (rows_only_) {
    at::Tensor slot = NextSlot(scores);
    at::softmax_out(slot, scores, -1, at::kFloat);
    return;
  }
  RecordRows(at::softmax(scores, -1, at::kFloat));
}

std::vector<at::Tensor> AttentionCapture::TakeLayers() {
  if (rows_only_) return stacked_.defined() ? stacked_.unbind(0) : std::vector<at::Tensor>();
  return std::move(layers_);
}

void AttentionCapture::RecordRows(const at::Tensor& rows) {
  if (!enabled_) return;
  if (rows_only_) {
    NextSlot(rows).copy_(rows);
    return;
  }
  const int64_t batch = rows.size(0), heads = rows.size(1), k = rows.size(2);
  at::Tensor cols_index = positions_.view({batch, 1, 1, k}).expand({batch, heads, k, k});
  layers_.push_back(rows.gather(3, cols_index));  // [B, H, K, K]
}

}  // namespace gp
