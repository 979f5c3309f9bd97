// RowsReplayer: padded, recorded and replayed passes give the rows a direct forward pass gives.
// Recordings here rerun their work (a CPU has no graphs) but hold their tensors the way a CUDA
// graph holds addresses, so a replay that read a stale input or handed out a buffer the next
// replay overwrites fails these tests as it would on a GPU.
#include "common/model/rows_replayer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/op_counter.h"
#include "tests/unit/expect_status.h"
#include "tests/unit/model/model_test_util.h"

namespace gp {
namespace {

// A recorder that counts its recordings and can be told to fail them.
class CountingRecorder : public Recorder {
 public:
  explicit CountingRecorder(int* recordings, bool fail = false)
      : recordings_(recordings), fail_(fail) {}
  absl::StatusOr<std::unique_ptr<Recording>> Record(const std::function<void()>& work) override {
    ++*recordings_;
    if (fail_) return absl::InternalError("this work cannot be recorded");
    return rerun_.Record(work);
  }
  std::string name() const override { return "counting"; }

 private:
  int* recordings_;
  bool fail_;
  RerunRecorder rerun_;
};

// One batch: ids [B, T] in the vocabulary, right-padded rows of the given lengths, K positions
// per row within its length.
struct Batch {
  at::Tensor ids, mask, positions;
};

Batch MakeBatch(const std::vector<int64_t>& lengths, int64_t length, int64_t count, uint64_t seed) {
  at::manual_seed(seed);
  const int64_t batch = static_cast<int64_t>(lengths.size());
  Batch b{at::randint(0, 512, {batch, length}, at::kLong), at::zeros({batch, length}, at::kLong),
          at::zeros({batch, count}, at::kLong)};
  for (int64_t i = 0; i < batch; ++i) {
    b.mask[i].narrow(0, 0, lengths[i]).fill_(1);
    b.positions[i].copy_(at::randint(0, lengths[i], {count}, at::kLong));
  }
  return b;
}

at::Tensor DirectRows(const DecoderModel& model, const Batch& b,
                      AttentionKernel kernel = AttentionKernel::kAuto) {
  ForwardOptions options;
  options.capture = ForwardOptions::Capture::kPositionRows;
  options.capture_positions = b.positions;
  options.attention_kernel = kernel;
  absl::StatusOr<ForwardOutput> out = model.Forward(b.ids, b.mask, options);
  EXPECT_TRUE(out.ok()) << out.status();
  return out->attention_rows;
}

double MaxDifference(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a - b).abs().max().item<double>();
}

class RowsReplayerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = DecoderModel::Load(testing::ReferenceModelDir(GetParam()), {});
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = std::make_unique<DecoderModel>(*std::move(loaded));
  }
  std::unique_ptr<DecoderModel> model_;
  c10::InferenceMode inference_;
};

TEST_P(RowsReplayerTest, ReplayedRowsEqualDirectOnesAndShapesRecordWhenTheyRepeat) {
  int recordings = 0;
  RowsReplayer replayer(model_.get(), std::make_unique<CountingRecorder>(&recordings));
  // Steps of 8: the first three batches pad to one shape [8, 16] with 8 positions; the last to
  // another (9 prompts round up to 16).
  const std::vector<Batch> batches = {
      MakeBatch({11, 7, 9}, 11, 4, 1), MakeBatch({13, 13, 5}, 13, 5, 2),
      MakeBatch({10, 4, 10}, 10, 3, 3), MakeBatch(std::vector<int64_t>(9, 6), 6, 2, 4)};
  struct Expected {
    int64_t direct, recorded, replayed;
  };
  const std::vector<Expected> after = {{1, 0, 0}, {1, 1, 1}, {1, 1, 2}, {2, 1, 2}};
  for (size_t i = 0; i < batches.size(); ++i) {
    SCOPED_TRACE("batch " + std::to_string(i));
    absl::StatusOr<at::Tensor> rows =
        replayer.Rows(batches[i].ids, batches[i].mask, batches[i].positions);
    ASSERT_TRUE(rows.ok()) << rows.status();
    // Padded keys are masked and padded rows dropped: the same numbers up to summation order.
    EXPECT_LT(MaxDifference(*rows, DirectRows(*model_, batches[i])), 1e-5);
    EXPECT_EQ(replayer.stats().direct, after[i].direct);
    EXPECT_EQ(replayer.stats().recorded, after[i].recorded);
    EXPECT_EQ(replayer.stats().replayed, after[i].replayed);
  }
  EXPECT_EQ(recordings, 1);
  EXPECT_TRUE(replayer.stats().recording_failure.empty());
}

TEST_P(RowsReplayerTest, RowsHandedOutSurviveTheNextReplay) {
  int recordings = 0;
  RowsReplayer replayer(model_.get(), std::make_unique<CountingRecorder>(&recordings));
  const Batch a = MakeBatch({12, 9}, 12, 3, 5), b = MakeBatch({12, 12}, 12, 3, 6);
  ASSERT_TRUE(replayer.Rows(a.ids, a.mask, a.positions).ok());  // seen once: direct
  absl::StatusOr<at::Tensor> first = replayer.Rows(a.ids, a.mask, a.positions);  // recorded
  ASSERT_TRUE(first.ok()) << first.status();
  const at::Tensor kept = first->clone();
  absl::StatusOr<at::Tensor> second = replayer.Rows(b.ids, b.mask, b.positions);  // replayed
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(replayer.stats().replayed, 2);
  EXPECT_EQ(MaxDifference(*first, kept), 0.0);
  // The replay read b's inputs, not the ones the shape was recorded with.
  EXPECT_LT(MaxDifference(*second, DirectRows(*model_, b)), 1e-5);
  EXPECT_GT(MaxDifference(*second, *first), 1e-3);
}

// What a GPU runs: the fused kernel, with the mask applied in every pass (an unpadded batch's
// direct pass takes the causal-only shortcut instead). Gemma 2 soft-caps its scores, so its
// passes stay explicit.
TEST_P(RowsReplayerTest, FusedKernelReplaysEqualDirectFusedPasses) {
  int recordings = 0;
  ReplayOptions options;
  options.kernel = AttentionKernel::kFused;
  RowsReplayer replayer(model_.get(), std::make_unique<CountingRecorder>(&recordings), options);
  // [8, 8] once, then [8, 16] three times: direct, recorded, replayed.
  const std::vector<Batch> batches = {MakeBatch({8, 8}, 8, 3, 12), MakeBatch({16, 11}, 16, 8, 13),
                                      MakeBatch({9, 16}, 16, 5, 14),
                                      MakeBatch({12, 13}, 13, 6, 15)};
  for (const Batch& b : batches) {
    absl::StatusOr<at::Tensor> rows = replayer.Rows(b.ids, b.mask, b.positions);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_LT(MaxDifference(*rows, DirectRows(*model_, b, AttentionKernel::kFused)), 1e-5);
  }
  EXPECT_EQ(replayer.stats().replayed, 2);
}

// The ops that read a device value on the host, and so wait for the device: inside a CUDA
// graph's capture they fail (the stream is capturing), so a recorded pass must dispatch none.
const std::set<std::string>& HostWaitingOps() {
  static const auto* ops = new std::set<std::string>{
      "aten::_local_scalar_dense",  // item(), and a tensor read as a bool or number
      "aten::item",
      "aten::is_nonzero",
      "aten::equal",
      "aten::allclose",
      "aten::nonzero",
      "aten::masked_select",
      "aten::unique_consecutive",
      "aten::_unique2",
      "aten::unique_dim",
      "aten::repeat_interleave"};
  return *ops;
}

// The ops among those `work` dispatches that wait for the device.
std::set<std::string> HostWaitsIn(const std::function<void()>& work) {
  DispatchedOpCounter counter;
  work();
  std::set<std::string> found;
  for (const auto& [name, count] : counter.by_name()) {
    if (HostWaitingOps().count(name) > 0) found.insert(name);
  }
  return found;
}

// A recorder that reports what its recorded work waited for.
class WatchingRecorder : public Recorder {
 public:
  explicit WatchingRecorder(std::set<std::string>* waits) : waits_(waits) {}
  absl::StatusOr<std::unique_ptr<Recording>> Record(const std::function<void()>& work) override {
    const std::set<std::string> found = HostWaitsIn(work);
    waits_->insert(found.begin(), found.end());
    return rerun_.Record(work);
  }
  std::string name() const override { return "watching"; }

 private:
  std::set<std::string>* waits_;
  RerunRecorder rerun_;
};

TEST(HostWaitsTest, AnItemReadIsSeen) {
  const at::Tensor t = at::ones({3});
  EXPECT_EQ(HostWaitsIn([&] { (void)t.sum().item<float>(); }),
            std::set<std::string>({"aten::_local_scalar_dense", "aten::item"}));
  EXPECT_TRUE(HostWaitsIn([&] { (void)t.sum(); }).empty());
}

// What a CUDA graph could not capture, looked for on the CPU: every kernel, a sliding window
// (Gemma 2) and padded rows, recorded passes only (a direct pass checks its inputs on the host).
TEST_P(RowsReplayerTest, RecordedPassesNeverWaitForTheDevice) {
  for (const AttentionKernel kernel : {AttentionKernel::kExplicit, AttentionKernel::kFused}) {
    std::set<std::string> waits;
    ReplayOptions options;
    options.kernel = kernel;
    RowsReplayer replayer(model_.get(), std::make_unique<WatchingRecorder>(&waits), options);
    for (int i = 0; i < 2; ++i) {
      const Batch b = MakeBatch({14, 9, 3}, 14, 5, 20 + i);
      ASSERT_TRUE(replayer.Rows(b.ids, b.mask, b.positions).ok());
    }
    EXPECT_EQ(replayer.stats().recorded, 1);
    EXPECT_TRUE(waits.empty()) << (kernel == AttentionKernel::kFused ? "fused" : "explicit")
                               << " pass waits in " << *waits.begin();
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, RowsReplayerTest,
                         ::testing::Values("tiny-llama3", "tiny-qwen2", "tiny-gemma2"));

class RowsReplayerLimitsTest : public RowsReplayerTest {};

TEST_P(RowsReplayerLimitsTest, AFailedRecordingIsReportedAndPassesRunDirectly) {
  int recordings = 0;
  RowsReplayer replayer(model_.get(), std::make_unique<CountingRecorder>(&recordings, true));
  const Batch a = MakeBatch({9, 5}, 9, 2, 7);
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<at::Tensor> rows = replayer.Rows(a.ids, a.mask, a.positions);
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_LT(MaxDifference(*rows, DirectRows(*model_, a)), 1e-5);
  }
  EXPECT_EQ(recordings, 1);  // tried once, when the shape first repeated
  EXPECT_EQ(replayer.stats().direct, 4);
  EXPECT_EQ(replayer.stats().recorded, 0);
  EXPECT_NE(replayer.stats().recording_failure.find("[8, 16] with 8 positions"), std::string::npos)
      << replayer.stats().recording_failure;
  EXPECT_NE(replayer.stats().recording_failure.find("this work cannot be recorded"),
            std::string::npos);
}

TEST_P(RowsReplayerLimitsTest, RecordsNoMoreShapesThanAllowed) {
  int recordings = 0;
  ReplayOptions options;
  options.steps = ShapeSteps{1, 1, 1};
  options.max_recordings = 1;
  RowsReplayer replayer(model_.get(), std::make_unique<CountingRecorder>(&recordings), options);
  const Batch a = MakeBatch({5, 5}, 5, 2, 8), b = MakeBatch({6, 6}, 6, 2, 9);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(replayer.Rows(a.ids, a.mask, a.positions).ok());
    ASSERT_TRUE(replayer.Rows(b.ids, b.mask, b.positions).ok());
  }
  EXPECT_EQ(recordings, 1);
  EXPECT_EQ(replayer.stats().recorded, 1);
  EXPECT_EQ(replayer.stats().replayed, 2);  // a, recorded at its second pass, then once more
  EXPECT_EQ(replayer.stats().direct, 4);
}

TEST_P(RowsReplayerLimitsTest, BadInputsAreNamedAsForwardNamesThem) {
  RowsReplayer replayer(model_.get(), std::make_unique<RerunRecorder>());
  Batch a = MakeBatch({4, 4}, 4, 2, 10);
  a.ids[0][1].fill_(512);
  EXPECT_TRUE(HasStatus(replayer.Rows(a.ids, a.mask, a.positions),
                        absl::StatusCode::kInvalidArgument, "outside the vocabulary [0, 512)"));
  Batch b = MakeBatch({4, 4}, 4, 2, 11);
  b.positions[1][0].fill_(4);
  EXPECT_TRUE(HasStatus(replayer.Rows(b.ids, b.mask, b.positions),
                        absl::StatusCode::kInvalidArgument,
                        "capture_positions must lie in [0, 4)"));
  EXPECT_EQ(replayer.stats().direct, 0);
}

// Limits on one model suffice: they do not depend on the family.
INSTANTIATE_TEST_SUITE_P(TinyLlama, RowsReplayerLimitsTest, ::testing::Values("tiny-llama3"));

}  // namespace
}  // namespace gp
