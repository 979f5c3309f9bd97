// `graphprobe dataset --model DIR --graphs 1000 --nodes 7 ... --out data.safetensors`
#include "services/cli/dataset_command.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ablation/dataset_builder.h"
#include "common/core/status.h"
#include "services/cli/flags.h"

namespace gp {
namespace {

const std::vector<FlagSpec> kDatasetFlags = {
    {"model", true, "checkpoint directory with config.json, weights and tokenizer.json"},
    {"out", true, "dataset file to write (safetensors)"},
    {"graphs", true, "number of graphs (default 1000)"},
    {"nodes", true, "nodes per graph, 2..64 (default 7)"},
    {"generator", true, "dag (default), tree, forest, er"},
    {"edge-prob", true, "edge probability (default: from --degree)"},
    {"degree", true, "expected degree when --edge-prob is not given (default 2)"},
    {"notation", true, "arrow (default), to, parents, adjacency, labels"},
    {"separator", true, "comma (default) or newline"},
    {"header", false, "start with a 'Nodes: ...' line, mentioning isolated nodes (the default)"},
    {"no-header", false, "no node header: nodes the prompt never mentions are masked"},
    {"preamble", true, "a line before the graph"},
    {"question", true, "a line after the graph (e.g. 'Parents of C:')"},
    {"names", true, "letters (default), integers, words"},
    {"mode", true,
     "raw (default), argmax, topk:K, topk1:K (ones); options may follow: +drop-sink, +max, +both"},
    {"drop-sink", false, "drop attention to the first token and renormalize rows"},
    {"aggregation", true, "over repeated mentions: mean (default) or max"},
    {"both-directions", false, "features for i->j and j->i"},
    {"perms", true, "orderings of the edge list averaged per graph (default 1)"},
    {"seed", true, "seed of graphs, names, orderings and splits (default 42)"},
    {"batch", true, "prompts per forward pass (default 16)"},
    {"dtype", true, "float32 (default) or bfloat16"},
    {"device", true, "cpu (default) or cuda"},
    {"random-init", false, "random weights of the model's shape (a control)"},
    {"help", false, "show this help"},
};

absl::StatusOr<DatasetSpec> SpecFromFlags(const Flags& flags) {
  DatasetSpec spec;
  GP_ASSIGN_OR_RETURN(spec.model, flags.Required("model"));
  GP_ASSIGN_OR_RETURN(spec.num_graphs, flags.Int32("graphs", 1000));
  GP_ASSIGN_OR_RETURN(spec.generator.num_nodes, flags.Int32("nodes", 7));
  GP_ASSIGN_OR_RETURN(spec.permutations, flags.Int32("perms", 1));
  GP_ASSIGN_OR_RETURN(spec.seed, flags.Seed("seed", 42));
  GP_ASSIGN_OR_RETURN(spec.batch_size, flags.Int32("batch", 16));
  GP_ASSIGN_OR_RETURN(spec.generator.kind, ParseGeneratorKind(flags.Get("generator", "dag")));
  GP_ASSIGN_OR_RETURN(spec.generator.edge_probability, flags.Double("edge-prob", -1));
  GP_ASSIGN_OR_RETURN(spec.generator.expected_degree, flags.Double("degree", 2.0));
  GP_ASSIGN_OR_RETURN(spec.prompt.notation, ParseNotation(flags.Get("notation", "arrow")));
  const std::string separator = flags.Get("separator", "comma");
  if (separator != "comma" && separator != "newline") {
    return absl::InvalidArgumentError(
        absl::StrCat("--separator '", separator, "': expected comma or newline"));
  }
  spec.prompt.separator = separator == "comma" ? Separator::kComma : Separator::kNewline;
  if (flags.Has("header") && flags.Has("no-header")) {
    return absl::InvalidArgumentError("--header and --no-header contradict each other");
  }
  spec.prompt.node_header = !flags.Has("no-header");
  spec.prompt.preamble = flags.Get("preamble", "");
  spec.prompt.question = flags.Get("question", "");
  GP_ASSIGN_OR_RETURN(spec.names, ParseNameScheme(flags.Get("names", "letters")));
  FeatureOptions features;
  features.drop_sink = flags.Has("drop-sink");
  features.both_directions = flags.Has("both-directions");
  const std::string aggregation = flags.Get("aggregation", "mean");
  if (aggregation != "mean" && aggregation != "max") {
    return absl::InvalidArgumentError(
        absl::StrCat("--aggregation '", aggregation, "': expected mean or max"));
  }
  features.aggregation =
      aggregation == "mean" ? MentionAggregation::kMean : MentionAggregation::kMax;
  GP_ASSIGN_OR_RETURN(spec.features, ParseFeatureMode(flags.Get("mode", "raw"), features));
  spec.dtype = flags.Get("dtype", "float32");
  spec.device = flags.Get("device", "cpu");
  spec.random_init = flags.Has("random-init");
  return spec;
}

// "\r  graphs 120/1000  35.2 graphs/s  ETA 25 s" on a terminal; nothing otherwise.
void ShowProgress(const DatasetProgress& p) {
  static const bool terminal = ::isatty(STDERR_FILENO);
  if (!terminal) return;
  const double rate = (p.graphs_done - p.resumed_from) / std::max(p.total_seconds, 1e-9);
  const double eta = rate > 0 ? (p.graphs_total - p.graphs_done) / rate : 0;
  std::cerr << absl::StrFormat("\r  graphs %d/%d  %.1f graphs/s  ETA %.0f s   ", p.graphs_done,
                               p.graphs_total, rate, eta)
            << std::flush;
}

absl::Status RunDataset(const Flags& flags) {
  GP_ASSIGN_OR_RETURN(DatasetSpec spec, SpecFromFlags(flags));
  GP_ASSIGN_OR_RETURN(std::string out, flags.Required("out"));
  DatasetProgress last;
  GP_RETURN_IF_ERROR(BuildDataset(spec, out, [&](const DatasetProgress& p) {
    ShowProgress(p);
    last = p;
  }));
  if (::isatty(STDERR_FILENO)) std::cerr << "\n";
  std::cout << absl::StrFormat(
      "wrote %s: %d graphs of %d nodes, mode %s, %d ordering(s)%s; %.1f s, %.0f%% in the forward "
      "pass\n",
      out, spec.num_graphs, spec.generator.num_nodes, FeatureModeName(spec.features),
      spec.permutations,
      last.resumed_from > 0 ? absl::StrCat(", resumed at graph ", last.resumed_from) : "",
      last.total_seconds, 100.0 * last.forward_seconds / std::max(last.total_seconds, 1e-9));
  return absl::OkStatus();
}

}  // namespace

int RunDatasetCommand(const std::vector<std::string>& args) {
  return RunSubcommand("dataset", "graphprobe dataset --model DIR --out FILE [flags]",
                       kDatasetFlags, args, std::cout,
                       [&](const Flags& flags) { return RunDataset(flags); },
                       {{"permutations", "--perms"},
                        {"batch_size", "--batch"},
                        {"expected_degree", "--degree"}});
}

}  // namespace gp
