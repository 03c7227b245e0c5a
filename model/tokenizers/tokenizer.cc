// LoadTokenizer (dispatch on the spec: "byte", a tokenizer.json, or a model directory) and
// ToValidUtf8.
#include "model/tokenizers/tokenizer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "model/tokenizers/bpe_tokenizer.h"
#include "model/tokenizers/byte_tokenizer.h"
#include "model/tokenizers/unicode.h"

namespace r1 {
namespace {

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadByteConfig(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  R1_RETURN_IF_ERROR(ByteTokenizer::CheckConfig(text, path));
  return std::make_unique<ByteTokenizer>();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& spec) {
  if (spec == "byte") return std::make_unique<ByteTokenizer>();
  if (spec.empty()) return absl::InvalidArgumentError("tokenizer spec is empty");
  if (IsDirectory(spec)) {
    const std::string byte_path = JoinPath(spec, ByteTokenizer::kFileName);
    if (PathExists(byte_path)) return LoadByteConfig(byte_path);
    const std::string bpe_path = JoinPath(spec, "tokenizer.json");
    if (PathExists(bpe_path)) {
      R1_ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> bpe, BpeTokenizer::Load(bpe_path));
      return std::unique_ptr<Tokenizer>(std::move(bpe));
    }
    return absl::NotFoundError(absl::StrCat("tokenizer directory ", spec, " has neither ",
                                            ByteTokenizer::kFileName, " nor tokenizer.json"));
  }
  if (!PathExists(spec)) {
    return absl::NotFoundError(absl::StrCat(
        "tokenizer \"", spec, "\" is not \"byte\", a tokenizer.json file or a model directory"));
  }
  if (spec == ByteTokenizer::kFileName ||
      absl::EndsWith(spec, std::string("/") + ByteTokenizer::kFileName)) {
    return LoadByteConfig(spec);
  }
  R1_ASSIGN_OR_RETURN(std::unique_ptr<BpeTokenizer> bpe, BpeTokenizer::Load(spec));
  return std::unique_ptr<Tokenizer>(std::move(bpe));
}

std::string ToValidUtf8(absl::string_view bytes) { return ReplaceInvalidUtf8(bytes); }

}  // namespace r1
