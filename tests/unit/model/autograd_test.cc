// Gradients flow through the same forward code: a few SGD steps on next-token loss lower it.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "common/model/decoder_model.h"
#include "tests/unit/model/model_test_util.h"

namespace gp {
namespace {

double NextTokenLoss(const DecoderModel& model, const at::Tensor& ids, const at::Tensor& mask,
                     bool backward) {
  ForwardOptions options;
  options.capture = ForwardOptions::Capture::kNone;
  options.logits = true;
  auto out = model.Forward(ids, mask, options);
  EXPECT_TRUE(out.ok()) << out.status();
  const int64_t length = ids.size(1);
  at::Tensor logits = out->logits.narrow(1, 0, length - 1).reshape({-1, out->logits.size(-1)});
  at::Tensor targets = ids.narrow(1, 1, length - 1).reshape({-1});
  at::Tensor loss = at::cross_entropy_loss(logits, targets);
  if (backward) loss.backward();
  return loss.item<double>();
}

TEST(AutogradTest, GradientsReachEveryWeightAndTrainingLowersLoss) {
  for (const char* name : {"tiny-qwen2", "tiny-gemma2"}) {
    auto model = DecoderModel::Load(testing::ReferenceModelDir(name), {});
    ASSERT_TRUE(model.ok());
    auto params = model->NamedParameters();
    for (auto& [n, p] : params) p.requires_grad_(true);
    // A generator of its own: the global one's state depends on which tests ran before.
    at::Tensor ids =
        at::randint(3, 512, {4, 12}, at::make_generator<at::CPUGeneratorImpl>(7), at::kLong);
    at::Tensor mask = at::ones({4, 12}, at::kLong);

    const double initial = NextTokenLoss(*model, ids, mask, /*backward=*/true);
    for (auto& [n, p] : params) {
      ASSERT_TRUE(p.grad().defined()) << name << " " << n;
      EXPECT_TRUE(at::isfinite(p.grad()).all().item<bool>()) << n;
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0) << name << " " << n;
    }
    double loss = initial;
    for (int step = 0; step < 20; ++step) {
      {
        at::NoGradGuard no_grad;
        for (auto& [n, p] : params) {
          p.sub_(p.grad() * 0.02);
          p.mutable_grad().zero_();
        }
      }
      loss = NextTokenLoss(*model, ids, mask, /*backward=*/true);
    }
    EXPECT_LT(loss, initial * 0.9) << name;
  }
}

}  // namespace
}  // namespace gp
