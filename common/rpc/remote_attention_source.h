// An AttentionSource backed by extractor services: each Capture call spreads its prompts over
// the extractors that are alive (one Extract stream each, in parallel; shares by each one's
// measured speed, so a loaded or slower extractor gets less) and puts the results back in
// prompt order. An extractor that fails with UNAVAILABLE, DEADLINE_EXCEEDED or
// CANCELLED (killed, cut off, frozen, draining) is dropped and its prompts go to another;
// any other error (a bad model, a bad prompt) is the caller's and is returned.
//
//   RemoteSourceOptions options;
//   options.extractors = {"127.0.0.1:5001", "127.0.0.1:5002"};
//   options.model.path = "models/graph-toy";  // relative to each extractor's --model-root
//   GP_ASSIGN_OR_RETURN(auto source, RemoteAttentionSource::Create(options));
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/attention_source.h"
#include "graphprobe/v1/extractor.grpc.pb.h"

namespace gp {

struct RemoteSourceOptions {
  // host:port of each extractor; a host name (or dns:///name:port) stands for every address
  // it resolves to, as a Kubernetes headless service gives one per pod.
  std::vector<std::string> extractors;
  ModelRef model;  // path relative to the extractors' model roots
  graphprobe::v1::DType wire_dtype = graphprobe::v1::DTYPE_F32;
  double deadline_seconds = 300;  // per Extract call
};

class RemoteAttentionSource : public AttentionSource {
 public:
  // Asks the extractors for the model's shape (ListModels); NotFound when none serves it.
  static absl::StatusOr<std::unique_ptr<RemoteAttentionSource>> Create(
      const RemoteSourceOptions& options);

  SourceShape shape() const override { return shape_; }
  // With `pool`, the extractors pool on their devices and send only the features.
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override;
  // The prompts each extractor answered so far (for load checks).
  std::vector<int64_t> PromptsServed() const;
  // Tensor bytes received so far (rows or features on the wire).
  int64_t BytesReceived() const { return bytes_received_; }

 private:
  struct Endpoint {
    std::string address;
    std::unique_ptr<graphprobe::v1::Extractor::Stub> stub;
    bool alive = true;
    int64_t served = 0;
    double seconds_per_prompt = 0;  // moving average of its answers; 0 until the first
  };
  explicit RemoteAttentionSource(RemoteSourceOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::vector<CapturedPrompt>> ExtractOn(Endpoint& endpoint,
                                                        const std::vector<CapturePrompt>& prompts,
                                                        const std::vector<FeatureOptions>& pool,
                                                        const std::atomic<bool>* cancel);

  RemoteSourceOptions options_;
  SourceShape shape_;
  std::vector<Endpoint> endpoints_;
  mutable std::mutex mutex_;  // alive flags and counters
  std::atomic<int64_t> bytes_received_{0};
};

// Every entry of `extractors` as IP:port addresses: literal addresses as they are, names
// resolved (IPv4 and IPv6) to all their addresses, duplicates dropped. NotFound when a name
// does not resolve, InvalidArgument for an entry without a port.
absl::StatusOr<std::vector<std::string>> ResolveExtractorAddresses(
    const std::vector<std::string>& extractors);

// The ModelRef fields as the proto carries them.
graphprobe::v1::ModelRef ToProto(const ModelRef& ref);

}  // namespace gp
