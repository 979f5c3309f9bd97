// The four services in this process, each a real gRPC server on a loopback port of its own,
// the workers registered with the coordinator as separate processes register: what
// `graphprobe run` runs an ablation through, so the one-process run and the cluster share one
// code path.
//
//   EmbeddedClusterOptions options;
//   options.state_dir = "out/cluster";
//   options.model_root = "models";
//   GP_ASSIGN_OR_RETURN(auto cluster, EmbeddedCluster::Start(options));
//   ... talk to cluster->coordinator_address() ...
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gp {

struct EmbeddedClusterOptions {
  std::string state_dir;     // coordinator/, features/ and trainer/ below it
  std::string model_root;    // the extractor's --model-root
  int feature_jobs = 1;      // dataset builds at once
  int trainer_jobs = 1;      // probes training at once
  bool cuda_graphs = false;  // the extractor's ExtractorOptions::cuda_graphs
};

class EmbeddedCluster {
 public:
  // Starts extractor, features, trainer and coordinator, and waits until every worker has
  // registered.
  static absl::StatusOr<std::unique_ptr<EmbeddedCluster>> Start(
      const EmbeddedClusterOptions& options);
  ~EmbeddedCluster();

  const std::string& coordinator_address() const;

 private:
  struct Parts;
  explicit EmbeddedCluster(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace gp
