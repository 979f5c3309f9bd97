// An AttentionSource backed by an ExtractorService in this process: what the embedded
// cluster's feature service captures through, so `graphprobe run` goes through the
// extractor's model cache, limits and pooling (the cluster's code path) while the features
// stay in memory instead of being serialized into chunks and sent over loopback.
//
//   ExtractorService extractor(options);
//   GP_ASSIGN_OR_RETURN(auto source, InProcessExtractorSource::Create(&extractor, model_ref));
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ablation/attention_source.h"
#include "services/extractor/extractor_service.h"

namespace gp {

class InProcessExtractorSource : public AttentionSource {
 public:
  // `model.path` relative to the service's model root, as a remote request names it; the
  // model is loaded here, so a bad one fails before any work. `service` outlives the source.
  static absl::StatusOr<std::unique_ptr<InProcessExtractorSource>> Create(ExtractorService* service,
                                                                          const ModelRef& model);

  SourceShape shape() const override { return shape_; }
  absl::StatusOr<std::vector<CapturedPrompt>> Capture(const std::vector<CapturePrompt>& prompts,
                                                      const std::vector<FeatureOptions>& pool,
                                                      const std::atomic<bool>* cancel) override;

 private:
  InProcessExtractorSource(ExtractorService* service, graphprobe::v1::ModelRef model,
                           SourceShape shape)
      : service_(service), model_(std::move(model)), shape_(shape) {}
  ExtractorService* service_;
  graphprobe::v1::ModelRef model_;
  SourceShape shape_;
};

}  // namespace gp
