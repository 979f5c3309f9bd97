// Probe training throughput: epochs/s of each probe on a 1000-graph, 7-node dataset with
// F = 512 features (Llama 3.2 1B's 16 layers x 32 heads), default sizes (hidden 4096), CPU.
//   probe_bench [--epochs 2] [--graphs 1000] [--hidden 4096] [--probes
//   pair-mlp,graph-mlp,gcn,logreg-head]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
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
};

absl::Status Run(const Flags& flags) {
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
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
  return gp::RunSubcommand("probe_bench", "probe_bench [flags]", gp::kFlags,
                           std::vector<std::string>(argv + 1, argv + argc), std::cout, gp::Run);
}
