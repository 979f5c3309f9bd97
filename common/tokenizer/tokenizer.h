// A Hugging Face tokenizer.json in C++, producing the ids, tokens and byte offsets of the
// `tokenizers` library: added tokens, normalizer, pre-tokenizer, BPE model, post-processor,
// decoder. The module's public API.
//
//   GP_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromFile("tokenizer.json"));
//   GP_ASSIGN_OR_RETURN(Encoding e, tokenizer.Encode("A -> B", /*add_special_tokens=*/true));
//   e.offsets[i]  // [begin, end) bytes of token i in the input
//
// Unsupported components are an InvalidArgument naming their JSON path, never a fallback.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/encoding.h"
#include "nlohmann/json.hpp"

namespace gp {

class AddedVocabulary;
class BpeModel;
class Decoder;
class Normalizer;
class PostProcessor;
class PreTokenizer;

class Tokenizer {
 public:
  static absl::StatusOr<Tokenizer> FromFile(const std::string& path);
  static absl::StatusOr<Tokenizer> FromJson(const nlohmann::json& json);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // InvalidArgument for text that is not valid UTF-8 (naming the byte offset).
  absl::StatusOr<Encoding> Encode(std::string_view text, bool add_special_tokens) const;
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;

  std::optional<int32_t> TokenToId(const std::string& token) const;
  std::string IdToToken(int32_t id) const;

 private:
  Tokenizer();
  std::unique_ptr<AddedVocabulary> added_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace gp
