// Features built through other forward-pass batches than the reference's. The wire is
// lossless, but a prompt padded to another length (an extractor's batcher merges requests, a
// batch is split over extractors by their speed) can round differently in the last bits: the
// softmax tails and the attention-weighted sums run over other shapes, and which kernel and
// summation order the CPU's BLAS picks depends on the shape (on AVX-512 machines more than on
// AVX2 ones). Equal up to that rounding; everything else in a dataset (labels, masks, ids) is
// compared bit for bit. Top-k could in principle flip between two keys that rounding made
// equal; its features are sums of kept weights, so a flip would show as a larger error.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace gp::testing {

inline ::testing::AssertionResult FeaturesMatch(const at::Tensor& got, const at::Tensor& want) {
  if (got.sizes() != want.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << got.sizes() << ", expected " << want.sizes();
  }
  if (at::allclose(got, want, /*rtol=*/1e-5, /*atol=*/1e-7)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "features differ by up to "
         << (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace gp::testing
