#include "services/extractor/extract_request.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace gp {

namespace fs = std::filesystem;

absl::StatusOr<ExtractReply> CheckExtractRequest(const graphprobe::v1::ExtractRequest& request,
                                                 int max_prompts) {
  ExtractReply reply;
  if (request.wire_dtype() != graphprobe::v1::DTYPE_UNSPECIFIED) reply.wire = request.wire_dtype();
  if (reply.wire != graphprobe::v1::DTYPE_F32 && reply.wire != graphprobe::v1::DTYPE_BF16) {
    return absl::InvalidArgumentError("wire_dtype: expected DTYPE_F32 or DTYPE_BF16");
  }
  if (request.prompts_size() > max_prompts) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "prompts: ", request.prompts_size(), ", over the limit of ", max_prompts, " per request"));
  }
  if (request.pool_size() > kMaxPoolModes) {
    return absl::ResourceExhaustedError(absl::StrCat("pool: ", request.pool_size(),
                                                     " feature modes, over the limit of ",
                                                     kMaxPoolModes, " per request"));
  }
  for (int i = 0; i < request.pool_size(); ++i) {
    absl::StatusOr<FeatureOptions> mode = ParseFeatureMode(request.pool(i), FeatureOptions{});
    if (!mode.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pool[", i, "] '", request.pool(i), "': ", mode.status().message()));
    }
    reply.pool.push_back(*mode);
  }
  if (!reply.pool.empty()) {
    for (int i = 0; i < request.prompts_size(); ++i) {
      if (request.prompts(i).ids_size() > 0 || request.prompts(i).capture_positions_size() > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("prompts[", i, "]: pooling needs the text form (nodes to pool over), ",
                         "not ids and capture_positions"));
      }
    }
  }
  return reply;
}

absl::StatusOr<std::string> ResolveModelPath(const std::string& root, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("model.path: empty");
  if (fs::path(path).is_absolute()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.path '", path, "': must be relative to the model root"));
  }
  std::error_code error;
  const fs::path resolved = fs::weakly_canonical(fs::path(root) / path, error);
  const std::string s = resolved.string();
  if (error || (s != root && s.rfind(root + "/", 0) != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.path '", path, "': leaves the model root"));
  }
  if (!fs::exists(resolved / "config.json", error)) {
    return absl::NotFoundError(absl::StrCat("model.path '", path, "': no such model"));
  }
  return s;
}

absl::StatusOr<PreparedPrompt> PrepareRequestPrompt(const graphprobe::v1::ExtractPrompt& p,
                                                    const Tokenizer& tokenizer,
                                                    int64_t vocab_size) {
  if (p.ids_size() > 0 || p.capture_positions_size() > 0) {
    if (!p.text().empty() || p.nodes_size() > 0) {
      return absl::InvalidArgumentError("text/nodes and ids/capture_positions are exclusive");
    }
    PreparedPrompt out;
    out.ids.assign(p.ids().begin(), p.ids().end());
    for (size_t t = 0; t < out.ids.size(); ++t) {
      if (out.ids[t] < 0 || out.ids[t] >= vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat("ids[", t, "] = ", out.ids[t],
                                                       ": outside the vocabulary of ", vocab_size));
      }
    }
    for (int k = 0; k < p.capture_positions_size(); ++k) {
      const int position = p.capture_positions(k);
      if (position < 0 || position >= static_cast<int>(out.ids.size()) ||
          (k > 0 && position <= p.capture_positions(k - 1))) {
        return absl::InvalidArgumentError(absl::StrCat("capture_positions[", k, "] = ", position,
                                                       ": must ascend strictly and lie inside the ",
                                                       out.ids.size(), " ids"));
      }
      out.positions.push_back(position);
    }
    return out;
  }
  CapturePrompt prompt{p.text(), {}};
  for (const auto& node : p.nodes()) {
    prompt.mentions.emplace_back();
    for (const auto& span : node.spans()) {
      if (span.begin() > span.end() || span.end() > p.text().size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("nodes: span [", span.begin(), ", ", span.end(), ") outside the text"));
      }
      prompt.mentions.back().push_back({span.begin(), span.end()});
    }
  }
  return PreparePrompt(tokenizer, prompt);
}

}  // namespace gp
