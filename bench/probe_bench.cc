// Probe training throughput: epochs/s of each probe on a 1000-graph, 7-node dataset with
// F = 512 features (Llama 3.2 1B's 16 layers x 32 heads), default sizes (hidden 4096), CPU.
//   probe_bench [--epochs 2] [--graphs 1000] [--hidden 4096] [--probes
//   pair-mlp,graph-mlp,gcn,logreg-head]
// With --dataset FILE --compare-threads R it trains each probe as the default ablation does on a
// real dataset R times on the main thread, on a new thread and on a long-lived thread, interleaved,
// and prints the median seconds of each (the trainer service trains on one long-lived worker
// thread, the direct path's scheduler on a new thread per cell: docs/PERFORMANCE.md).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/ablation/ablation_spec.h"
#include "common/core/allocator_tuning.h"
#include "common/core/status.h"
#include "common/probe/trainer.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kFlags = {
    {"epochs", true, "timed epochs per probe (default 2)"},
    {"graphs", true, "graphs in the dataset (default 1000)"},
    {"hidden", true, "hidden size (default 4096)"},
    {"probes", true, "comma-separated probe kinds"},
    {"dataset", true, "a dataset file (graphprobe dataset) for --compare-threads"},
    {"compare-threads", true, "repetitions of main thread vs worker thread (needs --dataset)"},
};

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Seconds of one TrainProbe run of `options` on `data`, on the calling thread.
absl::StatusOr<double> TimeTraining(const ProbeDataset& data, const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  GP_RETURN_IF_ERROR(TrainProbe(data, options).status());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One thread that lives across runs and runs each task it is given, as the trainer service's
// worker does.
class LongLivedThread {
 public:
  LongLivedThread() : thread_([this] { Loop(); }) {}
  ~LongLivedThread() {
    Submit(nullptr);
    thread_.join();
  }
  // Runs `task` on the thread and waits for it; a null task ends the thread.
  void Submit(std::function<void()> task) {
    std::unique_lock<std::mutex> lock(mutex_);
    task_ = std::move(task);
    pending_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !pending_; });
  }

 private:
  void Loop() {
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return pending_; });
      std::function<void()> task = std::move(task_);
      if (!task) {
        pending_ = false;
        changed_.notify_all();
        return;
      }
      lock.unlock();
      task();
      lock.lock();
      pending_ = false;
      changed_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> task_;
  bool pending_ = false;
  std::thread thread_;
};

absl::Status CompareThreads(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(ProbeDataset data, LoadProbeDataset(flags.Get("dataset", "")));
  GP_ASSIGN_OR_RETURN(int64_t repetitions, flags.Int("compare-threads", 3));
  std::cout << absl::StrFormat("%s, %d threads\n\n", flags.Get("dataset", ""),
                               at::get_num_threads());
  std::cout << "| probe | main thread | a new thread per run | one long-lived thread |\n"
               "|---|---|---|---|\n";
  LongLivedThread long_lived;
  for (const std::string& kind :
       std::vector<std::string>(absl::StrSplit(flags.Get("probes", "pair-mlp,gcn"), ','))) {
    TrainOptions options = DefaultAblationSpec("").probe_training;
    options.probe.kind = kind;
    ApplyFeatureLayout(data, &options.probe);
    std::vector<double> on_main, on_new, on_long_lived;
    absl::StatusOr<double> seconds;
    for (int64_t r = 0; r < repetitions; ++r) {
      seconds = TimeTraining(data, options);
      GP_RETURN_IF_ERROR(seconds.status());
      on_main.push_back(*seconds);
      std::thread fresh([&] { seconds = TimeTraining(data, options); });
      fresh.join();
      GP_RETURN_IF_ERROR(seconds.status());
      on_new.push_back(*seconds);
      long_lived.Submit([&] { seconds = TimeTraining(data, options); });
      GP_RETURN_IF_ERROR(seconds.status());
      on_long_lived.push_back(*seconds);
    }
    std::cout << absl::StrFormat("| %s | %.3f s | %.3f s | %.3f s |\n", kind, MedianOf(on_main),
                                 MedianOf(on_new), MedianOf(on_long_lived));
  }
  return absl::OkStatus();
}

absl::Status Run(const Flags& flags) {
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  if (flags.Has("compare-threads")) return CompareThreads(flags);
  const int64_t graphs = *flags.Int("graphs", 1000), n = 7, f = 512;
  at::manual_seed(0);
  ProbeDataset data;
  data.adjacency = (at::rand({graphs, n, n}) < 0.3).to(at::kByte).triu(1);
  data.features = at::randn({graphs, n, n, f});
  data.features.select(3, 0).add_(data.adjacency.to(at::kFloat));
  data.node_mask = at::ones({graphs, n}, at::kBool);
  data.split = at::zeros({graphs}, at::kByte);
  data.split.narrow(0, graphs * 7 / 10, graphs / 10).fill_(1);
  data.split.narrow(0, graphs * 8 / 10, graphs - graphs * 8 / 10).fill_(2);
  data.graph_id = at::arange(graphs, at::kLong);
  const int64_t epochs = *flags.Int("epochs", 2);
  std::cout << absl::StrFormat(
      "%d graphs x %d nodes x F=%d, batch 128, hidden %d, %d threads, float32\n\n", graphs, n, f,
      *flags.Int("hidden", 4096), at::get_num_threads());
  std::cout << "| probe | parameters | seconds/epoch | epochs/s |\n|---|---|---|---|\n";
  for (const std::string& kind : std::vector<std::string>(
           absl::StrSplit(flags.Get("probes", "pair-mlp,graph-mlp,gcn,logreg-head"), ','))) {
    TrainOptions o;
    o.probe.kind = kind;
    o.probe.hidden = static_cast<int>(*flags.Int("hidden", 4096));
    o.probe.heads_per_layer = 32;
    o.epochs = static_cast<int>(epochs);
    auto probe = MakeProbe(o.probe, n, f, 0);
    int64_t params = 0;
    if (probe.ok()) {
      for (const auto& p : (*probe)->Parameters()) params += p.numel();
    }
    const auto start = std::chrono::steady_clock::now();
    auto result = TrainProbe(data, o);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) return Annotate(result.status(), kind);
    // Includes each epoch's validation pass and the final evaluation, as a real run does.
    std::cout << absl::StrFormat("| %s | %d | %.2f | %.3f |\n", kind, params, seconds / epochs,
                                 epochs / seconds);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace gp

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  return gp::RunSubcommand("probe_bench", "probe_bench [flags]", gp::kFlags,
                           std::vector<std::string>(argv + 1, argv + argc), std::cout, gp::Run);
}
