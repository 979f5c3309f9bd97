// The tokenizer pipeline: added-token split, then per plain segment normalize, pre-tokenize
// and BPE, then post-process.
#include "common/tokenizer/tokenizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/core/json_file.h"
#include "common/core/status.h"
#include "common/tokenizer/added_vocabulary.h"
#include "common/tokenizer/bpe_model.h"
#include "common/tokenizer/decoder.h"
#include "common/tokenizer/json_path.h"
#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/post_processor.h"
#include "common/tokenizer/pre_tokenizer.h"
#include "common/tokenizer/utf8.h"

namespace gp {

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

absl::StatusOr<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  GP_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonFile(path));
  auto tokenizer = FromJson(json);
  if (!tokenizer.ok()) return Annotate(tokenizer.status(), path);
  return tokenizer;
}

absl::StatusOr<Tokenizer> Tokenizer::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return TokenizerJsonError("(root)", "not a JSON object");
  auto field = [&](const char* key) { return json.contains(key) ? json[key] : nlohmann::json(); };
  if (!json.contains("model")) return TokenizerJsonError("model", "missing");
  if (json.contains("truncation") && !json["truncation"].is_null()) {
    return TokenizerJsonError("truncation", "truncation is not supported; set it to null");
  }
  Tokenizer t;
  GP_ASSIGN_OR_RETURN(t.normalizer_, MakeNormalizer(field("normalizer"), "normalizer"));
  GP_ASSIGN_OR_RETURN(AddedVocabulary added,
                      AddedVocabulary::FromJson(field("added_tokens"), t.normalizer_ != nullptr));
  t.added_ = std::make_unique<AddedVocabulary>(std::move(added));
  GP_ASSIGN_OR_RETURN(t.pre_tokenizer_, MakePreTokenizer(field("pre_tokenizer"), "pre_tokenizer"));
  GP_ASSIGN_OR_RETURN(t.model_, BpeModel::FromJson(json["model"], "model"));
  GP_ASSIGN_OR_RETURN(t.post_processor_,
                      MakePostProcessor(field("post_processor"), "post_processor"));
  GP_ASSIGN_OR_RETURN(t.decoder_, MakeDecoder(field("decoder"), "decoder"));
  return t;
}

absl::StatusOr<Encoding> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  GP_RETURN_IF_ERROR(ValidateUtf8(text));
  if (text.size() > UINT32_MAX) return absl::InvalidArgumentError("text longer than 4 GiB");
  Encoding encoding;
  auto emit_added = [&](int32_t id, uint32_t begin, uint32_t end) {
    encoding.ids.push_back(id);
    encoding.tokens.push_back(added_->Find(id)->content);
    encoding.offsets.emplace_back(begin, end);
  };
  for (const TextSegment& segment : added_->Split(text, AddedVocabulary::Stage::kRaw)) {
    if (segment.added_token_id >= 0) {
      emit_added(segment.added_token_id, segment.begin, segment.end);
      continue;
    }
    NormalizedText normalized = NormalizedText::FromOriginal(
        std::string(text.substr(segment.begin, segment.end - segment.begin)),
        static_cast<uint32_t>(segment.begin));
    if (normalizer_) normalized = normalizer_->Apply(normalized);
    for (const TextSegment& part :
         added_->Split(normalized.text, AddedVocabulary::Stage::kNormalized)) {
      if (part.added_token_id >= 0) {
        const ByteSpan span = normalized.Origin(part.begin, part.end);
        emit_added(part.added_token_id, span.begin, span.end);
        continue;
      }
      std::vector<NormalizedText> pieces;
      pieces.push_back(normalized.Slice(part.begin, part.end));
      if (pre_tokenizer_) pieces = pre_tokenizer_->Apply(std::move(pieces));
      for (const NormalizedText& piece : pieces) {
        GP_ASSIGN_OR_RETURN(std::vector<WordToken> tokens, model_->Tokenize(piece.text));
        for (const WordToken& token : tokens) {
          const ByteSpan span = piece.Origin(token.begin, token.end);
          encoding.ids.push_back(token.id);
          encoding.tokens.push_back(model_->IdToToken(token.id));
          encoding.offsets.emplace_back(span.begin, span.end);
        }
      }
    }
  }
  if (post_processor_) post_processor_->Apply(add_special_tokens, &encoding);
  return encoding;
}

std::string Tokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    const AddedToken* added = added_->Find(id);
    if (added != nullptr && skip_special_tokens && added->special) continue;
    std::string token = added != nullptr ? added->content : model_->IdToToken(id);
    if (!token.empty()) tokens.push_back(std::move(token));
  }
  if (!decoder_) return absl::StrJoin(tokens, " ");
  return absl::StrJoin(decoder_->Apply(std::move(tokens)), "");
}

std::optional<int32_t> Tokenizer::TokenToId(const std::string& token) const {
  if (const AddedToken* added = added_->FindContent(token)) return added->id;
  return model_->TokenToId(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  if (const AddedToken* added = added_->Find(id)) return added->content;
  return model_->IdToToken(id);
}

}  // namespace gp
