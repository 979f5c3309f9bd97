// The in-process source: ExtractorService::CaptureInProcess behind the AttentionSource face.
#include "services/extractor/in_process_source.h"

#include "common/core/status.h"
#include "common/rpc/remote_attention_source.h"

namespace gp {

absl::StatusOr<std::unique_ptr<InProcessExtractorSource>> InProcessExtractorSource::Create(
    ExtractorService* service, const ModelRef& model) {
  graphprobe::v1::ModelRef ref = ToProto(model);
  GP_ASSIGN_OR_RETURN(SourceShape shape, service->ShapeOf(ref));
  return std::unique_ptr<InProcessExtractorSource>(
      new InProcessExtractorSource(service, std::move(ref), shape));
}

absl::StatusOr<std::vector<CapturedPrompt>> InProcessExtractorSource::Capture(
    const std::vector<CapturePrompt>& prompts, const std::vector<FeatureOptions>& pool,
    const std::atomic<bool>* cancel) {
  return service_->CaptureInProcess(model_, prompts, pool, cancel);
}

}  // namespace gp
