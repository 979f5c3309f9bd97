// The TrainingOptions message as common/probe's TrainOptions and back, checked field by field,
// and the checks of a CreateJob request. No libtorch: tests/fuzz feeds it hostile requests.
#pragma once

#include "absl/status/statusor.h"
#include "common/probe/train_options.h"
#include "graphprobe/v1/trainer.pb.h"

namespace gp {

// InvalidArgument naming the field (options.epochs, options.control, ...). Unset (zero) probe,
// hidden, layers, epochs, learning_rate, batch_size and task take TrainOptions' defaults; the
// other fields are taken as they are (0 is meaningful for each).
absl::StatusOr<TrainOptions> TrainOptionsOf(const graphprobe::v1::TrainingOptions& options);
graphprobe::v1::TrainingOptions ToProto(const TrainOptions& options);

// A CreateJob request checked before anything is queued: a dataset key of 16 hex digits, a
// feature service address, and its options (TrainOptionsOf). InvalidArgument naming the field.
absl::StatusOr<TrainOptions> CheckCreateTrainingJobRequest(
    const graphprobe::v1::CreateTrainingJobRequest& request);

}  // namespace gp
