// The byte tokenizer: bytes are ids, special tokens at fixed ids after them.
#include "model/tokenizers/byte_tokenizer.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "base/file_util.h"
#include "base/status_macros.h"
#include "model/tokenizers/unicode.h"

namespace r1 {
namespace {

using json = nlohmann::json;

json SpecialTokensJson() {
  json specials = json::object();
  const std::vector<std::string>& texts = ByteTokenizer::SpecialTokens();
  for (size_t i = 0; i < texts.size(); ++i) specials[texts[i]] = 256 + i;
  return specials;
}

}  // namespace

const std::vector<std::string>& ByteTokenizer::SpecialTokens() {
  static const auto* tokens =
      new std::vector<std::string>{"<|pad|>",  "<|endoftext|>", "<think>",      "</think>",
                                   "<answer>", "</answer>",     "<|im_start|>", "<|im_end|>"};
  return *tokens;
}

absl::Status ByteTokenizer::CheckConfig(absl::string_view json_text, const std::string& source) {
  json config;
  try {
    config = json::parse(json_text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", e.what()));
  }
  if (!config.is_object() || !config.contains("type") || config["type"] != "byte") {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": type: expected \"byte\" (an r1 byte tokenizer file)"));
  }
  if (config.contains("special_tokens") && config["special_tokens"] != SpecialTokensJson()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": special_tokens: ", config["special_tokens"].dump(),
                     " differ from the byte tokenizer's fixed ids ", SpecialTokensJson().dump()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> ByteTokenizer::Encode(absl::string_view text) const {
  R1_RETURN_IF_ERROR(ValidateUtf8(text));
  const std::vector<std::string>& specials = SpecialTokens();
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t match = -1;
    size_t match_len = 0;
    if (text[pos] == '<') {
      for (size_t i = 0; i < specials.size(); ++i) {
        const std::string& s = specials[i];
        if (s.size() > match_len && text.substr(pos, s.size()) == s) {
          match = static_cast<int32_t>(256 + i);
          match_len = s.size();
        }
      }
    }
    if (match >= 0) {
      ids.push_back(match);
      pos += match_len;
    } else {
      ids.push_back(static_cast<uint8_t>(text[pos]));
      ++pos;
    }
  }
  return ids;
}

absl::StatusOr<std::string> ByteTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= kVocabSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is outside [0, ", kVocabSize, ")"));
    }
    if (id < 256) {
      out.push_back(static_cast<char>(id));
    } else {
      out += SpecialTokens()[id - 256];
    }
  }
  return out;
}

std::optional<int32_t> ByteTokenizer::TokenId(absl::string_view token) const {
  const std::vector<std::string>& specials = SpecialTokens();
  for (size_t i = 0; i < specials.size(); ++i) {
    if (specials[i] == token) return static_cast<int32_t>(256 + i);
  }
  return std::nullopt;
}

absl::Status ByteTokenizer::SaveTo(const std::string& dir) const {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("tokenizer SaveTo: ", dir, " is not a directory"));
  }
  const json config = {{"type", "byte"}, {"version", 1}, {"special_tokens", SpecialTokensJson()}};
  return WriteFileAtomic(JoinPath(dir, kFileName), config.dump(2) + "\n");
}

}  // namespace r1
