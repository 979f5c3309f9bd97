// Features built through other forward-pass batches than the reference's. The wire is
// lossless, but a prompt padded to another length (an extractor's batcher merges requests, a
// batch is split over extractors by their speed) can round differently in the last bits: the
// softmax tails and the attention-weighted sums run over other shapes, and which kernel and
// summation order the CPU's BLAS picks depends on the shape (on AVX-512 machines more than on
// AVX2 ones). Equal up to that rounding; everything else in a dataset (labels, masks, ids) is
// compared bit for bit.
//
// Top-k and argmax are not continuous: where rounding reorders two keys of nearly equal
// weight, the other key is kept and the pairs that pool that row move by the tied weight (CI
// saw a topk:3+drop-sink feature 1.5e-3 apart on an AVX-512 machine). For those modes a few
// elements (a share of at most kSelectionFlips) may differ by more than rounding; a real
// change (another graph, rows of another prompt) moves far more. The faults and compose tests
// apply the same rule (dataset_difference.py).
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "common/features/feature_options.h"

namespace gp::testing {

constexpr double kSelectionFlips = 1e-3;

inline ::testing::AssertionResult FeaturesMatch(const at::Tensor& got, const at::Tensor& want,
                                                const FeatureOptions& mode) {
  if (got.sizes() != want.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << got.sizes() << ", expected " << want.sizes();
  }
  const at::Tensor close = at::isclose(got, want, /*rtol=*/1e-5, /*atol=*/1e-7);
  const int64_t beyond = close.numel() - close.sum().item<int64_t>();
  const bool selects = mode.mode == FeatureMode::kTopK || mode.mode == FeatureMode::kArgmax;
  const auto allowed = selects ? static_cast<int64_t>(kSelectionFlips * close.numel()) : 0;
  if (beyond <= allowed) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << FeatureModeName(mode) << " features differ by up to "
         << (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>() << " in "
         << beyond << " of " << close.numel() << " elements (" << allowed
         << " may differ beyond rounding)";
}

}  // namespace gp::testing
