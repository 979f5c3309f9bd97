#include "common/probe/train_options.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gp {

bool IsLogisticProbe(const std::string& kind) {
  return kind == "logreg-head" || kind == "logreg-layer";
}

const std::vector<std::string>& ProbeKinds() {
  static const std::vector<std::string> kinds = {"pair-mlp", "graph-mlp", "gcn", "logreg-head",
                                                 "logreg-layer"};
  return kinds;
}

absl::StatusOr<ProbeTask> ParseProbeTask(const std::string& name) {
  if (name == "undirected") return ProbeTask::kUndirected;
  if (name == "directed") return ProbeTask::kDirected;
  return absl::InvalidArgumentError(
      absl::StrCat("task '", name, "': expected undirected or directed"));
}

std::string ProbeControlName(ProbeControl control) {
  switch (control) {
    case ProbeControl::kNone:
      return "";
    case ProbeControl::kLabelShuffle:
      return "label-shuffle";
    case ProbeControl::kControlTask:
      return "control-task";
    case ProbeControl::kPositional:
      return "positional";
  }
  return "?";
}

absl::StatusOr<ProbeControl> ParseProbeControl(const std::string& name) {
  for (ProbeControl c : {ProbeControl::kNone, ProbeControl::kLabelShuffle,
                         ProbeControl::kControlTask, ProbeControl::kPositional}) {
    if (name == ProbeControlName(c)) return c;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("control '", name, "': expected label-shuffle, control-task or positional"));
}

namespace {

absl::Status CheckCount(const char* field, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " ", value, ": expected ", min, "..", max));
}

absl::Status CheckNumber(const char* field, double value, bool (*in_range)(double),
                         const char* expected) {
  if (std::isfinite(value) && in_range(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " ", value, ": expected ", expected));
}

}  // namespace

absl::Status CheckTrainOptions(const TrainOptions& o) {
  const std::vector<std::string>& kinds = ProbeKinds();
  if (std::find(kinds.begin(), kinds.end(), o.probe.kind) == kinds.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe '", o.probe.kind, "': expected ", absl::StrJoin(kinds, ", ")));
  }
  for (const absl::Status& status :
       {CheckCount("hidden", o.probe.hidden, 1, kMaxProbeHidden),
        CheckCount("layers", o.probe.layers, 1, kMaxProbeLayers),
        CheckCount("epochs", o.epochs, 1, kMaxProbeEpochs),
        CheckCount("batch_size", o.batch_size, 1, kMaxProbeBatchSize),
        CheckCount("patience", o.patience, 0, kMaxProbeEpochs),
        CheckCount("bootstrap_resamples", o.bootstrap_resamples, 0, kMaxBootstrapResamples),
        CheckNumber(
            "dropout", o.probe.dropout, [](double v) { return v >= 0 && v < 1; }, "[0, 1)"),
        CheckNumber(
            "learning_rate", o.learning_rate, [](double v) { return v > 0 && v <= 10; }, "(0, 10]"),
        CheckNumber(
            "weight_decay", o.weight_decay, [](double v) { return v >= 0 && v <= 10; }, "[0, 10]"),
        CheckNumber(
            "positive_weight", o.positive_weight, [](double v) { return v <= 1e6; },
            "at most 1e6 (<= 0: from the class balance)")}) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace gp
