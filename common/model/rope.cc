// Rotary position embeddings, following transformers' modeling_rope_utils.
#include "common/model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace gp {

at::Tensor InverseFrequencies(const RopeParameters& rope, int64_t head_dim, at::Device device) {
  // 1 / theta^(2i / d), evaluated in float32 as transformers does.
  at::Tensor exponents =
      at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) /
      static_cast<double>(head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(rope.theta, exponents);
  switch (rope.type) {
    case RopeType::kDefault:
      break;
    case RopeType::kLinear:
      inv_freq = inv_freq / rope.factor;
      break;
    case RopeType::kLlama3: {
      // Long wavelengths are slowed by `factor`, short ones kept, the band between blended.
      const double old_context = static_cast<double>(rope.original_max_position_embeddings);
      const double low_freq_wavelen = old_context / rope.low_freq_factor;
      const double high_freq_wavelen = old_context / rope.high_freq_factor;
      at::Tensor wavelen = 2 * M_PI / inv_freq;
      at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
      at::Tensor smooth = (old_context / wavelen - rope.low_freq_factor) /
                          (rope.high_freq_factor - rope.low_freq_factor);
      at::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
      at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
      inv_freq = at::where(medium, smoothed, scaled);
      break;
    }
  }
  return inv_freq.to(device);
}

std::pair<at::Tensor, at::Tensor> RotaryCosSin(const at::Tensor& inverse_frequencies,
                                               int64_t length, at::ScalarType dtype) {
  at::Tensor positions = at::arange(length, inverse_frequencies.options().dtype(at::kFloat));
  at::Tensor freqs = at::outer(positions, inverse_frequencies);  // [T, d/2], one product each
  at::Tensor sin = freqs.sin();
  return {at::cat({freqs, freqs}, -1).cos().to(dtype), at::cat({-sin, sin}, -1).to(dtype)};
}

at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& signed_sin) {
  return x * cos + at::roll(x, x.size(-1) / 2, -1) * signed_sin;
}

}  // namespace gp
