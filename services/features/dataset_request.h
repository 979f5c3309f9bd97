// A BuildDatasetRequest as the dataset specs it asks for (one per feature mode, one family),
// checked field by field, and the content keys that name the datasets and the job.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/dataset_builder.h"
#include "graphprobe/v1/features.pb.h"

namespace gp {

// InvalidArgument naming the field (graphs.nodes, feature_modes[1], ...). The specs' model
// path is the request's, as the extractors resolve it.
absl::StatusOr<std::vector<DatasetSpec>> DatasetSpecsOf(
    const graphprobe::v1::BuildDatasetRequest& request);

// A dataset's content key: a hash of everything that determines its contents
// (DatasetSpec::ToJson), 16 hex digits. The same settings always give the same key.
std::string ContentKey(const DatasetSpec& spec);
// A job's id: the content key of its first dataset's family and modes together.
std::string JobId(const std::vector<DatasetSpec>& specs);

}  // namespace gp
