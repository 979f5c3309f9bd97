// The TrainingOptions message as common/probe's TrainOptions and back, checked field by field.
#pragma once

#include "absl/status/statusor.h"
#include "common/probe/trainer.h"
#include "graphprobe/v1/trainer.pb.h"

namespace gp {

// InvalidArgument naming the field (options.epochs, options.control, ...). Unset (zero) probe,
// hidden, layers, epochs, learning_rate, batch_size and task take TrainOptions' defaults; the
// other fields are taken as they are (0 is meaningful for each).
absl::StatusOr<TrainOptions> TrainOptionsOf(const graphprobe::v1::TrainingOptions& options);
graphprobe::v1::TrainingOptions ToProto(const TrainOptions& options);

}  // namespace gp
