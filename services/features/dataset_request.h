// A BuildDatasetRequest as the dataset specs it asks for (one per feature mode, one family),
// checked field by field (and back: the request of a family of specs), and the job's id.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/dataset_spec.h"
#include "graphprobe/v1/features.pb.h"

namespace gp {

// InvalidArgument naming the field (at most kMaxFeatureModesPerFamily feature modes, none twice)
// (graphs.nodes, feature_modes[1], ...). The specs' model path is the request's, as the extractors
// resolve it.
absl::StatusOr<std::vector<DatasetSpec>> DatasetSpecsOf(
    const graphprobe::v1::BuildDatasetRequest& request);

// The request for a family of specs (equal but for their features; DatasetSpecsOf gives them
// back with the same content keys).
graphprobe::v1::BuildDatasetRequest BuildDatasetRequestOf(const std::vector<DatasetSpec>& specs);

// A job's id: the content key of its first dataset's family and modes together.
std::string JobId(const std::vector<DatasetSpec>& specs);

}  // namespace gp
