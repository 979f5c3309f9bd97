// What a training may ask for: every limit refused with the field and value named.
#include "common/probe/train_options.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gp {
namespace {

std::string ErrorOf(const TrainOptions& options) {
  const absl::Status status = CheckTrainOptions(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(TrainOptionsTest, DefaultsAndEveryKindPass) {
  TrainOptions options;
  EXPECT_TRUE(CheckTrainOptions(options).ok());
  for (const std::string& kind : ProbeKinds()) {
    options.probe.kind = kind;
    EXPECT_TRUE(CheckTrainOptions(options).ok()) << kind;
  }
  options.probe.hidden = kMaxProbeHidden;
  options.probe.layers = kMaxProbeLayers;
  options.patience = 0;
  options.positive_weight = -1;  // from the class balance
  EXPECT_TRUE(CheckTrainOptions(options).ok());
}

TEST(TrainOptionsTest, OutOfRangeAndNonFiniteValuesAreNamed) {
  const auto with = [](auto change) {
    TrainOptions options;
    change(options);
    return options;
  };
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.probe.kind = "svm"; })).rfind("probe 'svm'", 0),
            0u);
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.probe.hidden = kMaxProbeHidden + 1; })),
            "hidden 65537: expected 1..65536");
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.probe.layers = 0; })), "layers 0: expected 1..16");
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.batch_size = -3; })),
            "batch_size -3: expected 1..1048576");
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.bootstrap_resamples = 100001; })),
            "bootstrap_resamples 100001: expected 0..100000");
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.probe.dropout = 1; })),
            "dropout 1: expected [0, 1)");
  EXPECT_EQ(ErrorOf(with([](TrainOptions& o) { o.learning_rate = std::nan(""); })),
            "learning_rate nan: expected (0, 10]");
  EXPECT_EQ(ErrorOf(with(
                [](TrainOptions& o) { o.weight_decay = std::numeric_limits<double>::infinity(); })),
            "weight_decay inf: expected [0, 10]");
  EXPECT_NE(ErrorOf(with([](TrainOptions& o) { o.positive_weight = 2e6; })).find("at most 1e6"),
            std::string::npos);
}

}  // namespace
}  // namespace gp
