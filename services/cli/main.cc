// `graphprobe`: the command-line entry point; each subcommand lives in its own file.
#include <iostream>
#include <string>
#include <vector>

#include "common/core/allocator_tuning.h"
#include "services/cli/attention_command.h"
#include "services/cli/dataset_command.h"
#include "services/cli/eval_lm_command.h"
#include "services/cli/tokenize_command.h"
#include "services/cli/train_command.h"
#include "services/cli/train_lm_command.h"
#ifndef GP_COMPUTE_COMMANDS_ONLY  // built without gRPC: no services, no cluster commands
#include "services/cli/ablation_commands.h"
#include "services/cli/cluster_command.h"
#include "services/cli/report_command.h"
#include "services/cli/run_command.h"
#endif

namespace {

#ifdef GP_COMPUTE_COMMANDS_ONLY
// The commands that start or talk to services, which a build without gRPC leaves out.
constexpr const char* kServiceCommands[] = {"report",  "run",  "submit", "watch",
                                            "results", "list", "cancel", "cluster"};
#endif

void PrintUsage() {
  std::cout
      << "usage: graphprobe <command> [flags]\n\n"
         "commands:\n"
         "  attention   run a checkpoint on token ids, write and summarize every layer's "
         "attention\n"
         "  dataset     random graphs -> prompts -> attention -> node-pair features (a dataset "
         "file)\n"
         "  eval-lm     held-out parent-question accuracy of a graph-text model, cell by cell\n"
         "  report      the HTML report of a results directory (tables, effect plots, heads)\n"
         "  run         the whole ablation through the services in one process (default: the "
         "toy model)\n"
         "  submit      submit an ablation spec to a coordinator (prints its id)\n"
         "  watch       follow an ablation until it ends\n"
         "  results     write an ablation's result files\n"
         "  list        list a coordinator's ablations\n"
         "  cancel      cancel an ablation across the services\n"
         "  cluster     `cluster up` / `cluster down`: a local cluster of service processes\n"
         "  tokenize    tokenize stdin with a tokenizer.json: ids, tokens, byte offsets as JSON\n"
         "  train       train a probe on a dataset file\n"
         "  train-lm    train the small graph-reading language model (the embedded default)\n\n"
         "`graphprobe <command> --help` lists a command's flags.\n";
#ifdef GP_COMPUTE_COMMANDS_ONLY
  std::cout << "This build has no gRPC, so these are not in it:";
  for (const char* command : kServiceCommands) std::cout << " " << command;
  std::cout << "\n";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  gp::TuneAllocatorForTensors();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    PrintUsage();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "attention") return gp::RunAttentionCommand(args);
  if (command == "dataset") return gp::RunDatasetCommand(args);
  if (command == "eval-lm") return gp::RunEvalLmCommand(args);
#ifndef GP_COMPUTE_COMMANDS_ONLY
  if (command == "report") return gp::RunReportCommand(args);
  if (command == "run") return gp::RunRunCommand(args);
  if (command == "submit") return gp::RunSubmitCommand(args);
  if (command == "watch") return gp::RunWatchCommand(args);
  if (command == "results") return gp::RunResultsCommand(args);
  if (command == "list") return gp::RunListCommand(args);
  if (command == "cancel") return gp::RunCancelCommand(args);
  if (command == "cluster") return gp::RunClusterCommand(args);
#else
  for (const char* service_command : kServiceCommands) {
    if (command == service_command) {
      std::cerr << "graphprobe: '" << command
                << "' is not in this build: it was built without gRPC (-DGP_BUILD_RPC=OFF)\n";
      return 2;
    }
  }
#endif
  if (command == "train") return gp::RunTrainCommand(args);
  if (command == "train-lm") return gp::RunTrainLmCommand(args);
  if (command == "tokenize") return gp::RunTokenizeCommand(args, std::cin, std::cout);
  std::cerr << "graphprobe: unknown command '" << command << "'\n";
  PrintUsage();
  return 2;
}
