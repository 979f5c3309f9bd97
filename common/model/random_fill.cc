// Counter-based (splitmix64) uniform fill, parallel over chunks.
#include "common/model/random_fill.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include "common/core/splitmix64.h"

namespace gp {
namespace {

constexpr int64_t kChunk = 1 << 16;

template <typename T>
void Fill(T* data, int64_t n, float bound, uint64_t seed) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      uint64_t state = seed ^ (static_cast<uint64_t>(c) * 0xd1b54a32d192ed03ULL);
      const int64_t stop = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < stop; i += 2) {
        // One 64-bit draw gives two 24-bit uniforms.
        const uint64_t r = SplitMix64Next(state);
        const float a = static_cast<float>(r >> 40) * (1.0f / 16777216.0f);
        const float b = static_cast<float>((r >> 8) & 0xffffff) * (1.0f / 16777216.0f);
        data[i] = static_cast<T>((2.0f * a - 1.0f) * bound);
        if (i + 1 < stop) data[i + 1] = static_cast<T>((2.0f * b - 1.0f) * bound);
      }
    }
  });
}

}  // namespace

void FillUniform(at::Tensor& tensor, double bound, uint64_t seed) {
  TORCH_CHECK(tensor.device().is_cpu() && tensor.is_contiguous(),
              "FillUniform needs a contiguous CPU tensor");
  const float b = static_cast<float>(bound);
  if (tensor.scalar_type() == at::kBFloat16) {
    Fill(tensor.data_ptr<c10::BFloat16>(), tensor.numel(), b, seed);
  } else {
    TORCH_CHECK(tensor.scalar_type() == at::kFloat,
                "FillUniform fills float32 or bfloat16 tensors");
    Fill(tensor.data_ptr<float>(), tensor.numel(), b, seed);
  }
}

}  // namespace gp
