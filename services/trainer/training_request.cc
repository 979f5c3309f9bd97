// TrainingOptions <-> TrainOptions.
#include "services/trainer/training_request.h"

#include "absl/strings/str_cat.h"

namespace gp {
namespace {

absl::Status Field(const std::string& field, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError(absl::StrCat("options.", field, ": ", status.message()));
}

}  // namespace

absl::StatusOr<TrainOptions> TrainOptionsOf(const graphprobe::v1::TrainingOptions& p) {
  TrainOptions o;
  if (!p.probe().empty()) o.probe.kind = p.probe();
  if (p.hidden() < 0 || p.layers() < 0 || p.epochs() < 0 || p.batch_size() < 0 ||
      p.patience() < 0 || p.bootstrap_resamples() < 0) {
    return absl::InvalidArgumentError(
        "options: hidden, layers, epochs, batch_size, patience and bootstrap_resamples must be "
        ">= 0");
  }
  if (p.hidden() > 0) o.probe.hidden = p.hidden();
  if (p.layers() > 0) o.probe.layers = p.layers();
  o.probe.dropout = p.dropout();  // checked with the rest by CheckTrainOptions below
  if (!p.task().empty()) {
    absl::StatusOr<ProbeTask> task = ParseProbeTask(p.task());
    if (!task.ok()) return Field("task", task.status());
    o.task = *task;
  }
  absl::StatusOr<ProbeControl> control = ParseProbeControl(p.control());
  if (!control.ok()) return Field("control", control.status());
  o.control = *control;
  if (p.epochs() > 0) o.epochs = p.epochs();
  if (p.learning_rate() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.learning_rate ", p.learning_rate(), ": must be > 0"));
  }
  if (p.learning_rate() > 0) o.learning_rate = p.learning_rate();
  if (p.batch_size() > 0) o.batch_size = p.batch_size();
  o.weight_decay = p.weight_decay();
  o.positive_weight = p.positive_weight();
  o.patience = p.patience();
  o.bootstrap_resamples = p.bootstrap_resamples();
  o.seed = p.seed();
  const absl::Status checked = CheckTrainOptions(o);
  if (!checked.ok()) return absl::InvalidArgumentError(absl::StrCat("options.", checked.message()));
  return o;
}

graphprobe::v1::TrainingOptions ToProto(const TrainOptions& o) {
  graphprobe::v1::TrainingOptions p;
  p.set_probe(o.probe.kind);
  p.set_hidden(o.probe.hidden);
  p.set_layers(o.probe.layers);
  p.set_dropout(o.probe.dropout);
  p.set_task(o.task == ProbeTask::kUndirected ? "undirected" : "directed");
  p.set_control(ProbeControlName(o.control));
  p.set_epochs(o.epochs);
  p.set_learning_rate(o.learning_rate);
  p.set_batch_size(o.batch_size);
  p.set_weight_decay(o.weight_decay);
  p.set_positive_weight(o.positive_weight);
  p.set_patience(o.patience);
  p.set_bootstrap_resamples(o.bootstrap_resamples);
  p.set_seed(o.seed);
  return p;
}

absl::StatusOr<TrainOptions> CheckCreateTrainingJobRequest(
    const graphprobe::v1::CreateTrainingJobRequest& request) {
  const std::string& key = request.dataset_key();
  if (key.size() != 16 || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset_key '", key, "': expected 16 hex digits"));
  }
  if (request.features_address().empty()) {
    return absl::InvalidArgumentError("features_address: empty");
  }
  return TrainOptionsOf(request.options());
}

}  // namespace gp
