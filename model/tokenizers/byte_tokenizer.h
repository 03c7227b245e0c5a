// The byte tokenizer for tiny models trained from scratch: one id per byte value, plus the
// recipe's special tokens at fixed ids. Needs no files; SaveTo writes r1_tokenizer.json.
#ifndef R1_MODEL_TOKENIZERS_BYTE_TOKENIZER_H_
#define R1_MODEL_TOKENIZERS_BYTE_TOKENIZER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/tokenizers/tokenizer.h"

namespace r1 {

// Ids 0..255 are the byte values. Then, at fixed ids:
//   256 "<|pad|>"        padding (pad_id)
//   257 "<|endoftext|>"  end of sequence (eos_id)
//   258 "<think>"   259 "</think>"   260 "<answer>"   261 "</answer>"
//   262 "<|im_start|>"   263 "<|im_end|>"
// vocab_size() is 264. Special-token texts written literally in the input encode to their id.
//
// Stateless; all methods are thread-safe.
class ByteTokenizer : public Tokenizer {
 public:
  static constexpr int32_t kPadId = 256;
  static constexpr int32_t kEosId = 257;
  static constexpr int32_t kThinkId = 258;
  static constexpr int32_t kThinkEndId = 259;
  static constexpr int32_t kAnswerId = 260;
  static constexpr int32_t kAnswerEndId = 261;
  static constexpr int32_t kImStartId = 262;
  static constexpr int32_t kImEndId = 263;
  static constexpr int32_t kVocabSize = 264;

  // The special tokens' texts, index = id - 256.
  static const std::vector<std::string>& SpecialTokens();

  // The file SaveTo writes and LoadTokenizer recognises in a directory.
  static constexpr char kFileName[] = "r1_tokenizer.json";

  // Checks the contents of an r1_tokenizer.json (`source` names it in errors): {"type": "byte"}
  // and, when present, "special_tokens" equal to ours. InvalidArgument otherwise.
  static absl::Status CheckConfig(absl::string_view json_text, const std::string& source);

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  int32_t vocab_size() const override { return kVocabSize; }
  std::optional<int32_t> TokenId(absl::string_view token) const override;
  int32_t eos_id() const override { return kEosId; }
  int32_t pad_id() const override { return kPadId; }
  // Writes `dir`/r1_tokenizer.json: {"type": "byte", "version": 1, "special_tokens": {...}}.
  absl::Status SaveTo(const std::string& dir) const override;
};

}  // namespace r1

#endif  // R1_MODEL_TOKENIZERS_BYTE_TOKENIZER_H_
