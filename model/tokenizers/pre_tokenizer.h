// Pre-tokenization for byte-level BPE: the split regexes of GPT-2, Qwen2/Qwen3 and Llama-3 as
// hand-written matchers over code points (std::regex has no \p{..}), and the GPT-2 ByteLevel
// byte <-> unicode-character mapping that tokenizer.json vocabularies are written in.
#ifndef R1_MODEL_TOKENIZERS_PRE_TOKENIZER_H_
#define R1_MODEL_TOKENIZERS_PRE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// The split regexes we implement. Each splits text into pieces, every character in exactly one
// piece (Hugging Face Split behavior "Isolated"); alternatives are tried in order at each
// position, like the backtracking regex engine Hugging Face uses.
enum class SplitPattern {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,
  // As kQwen2 with \p{N}{1,3} (up to three digits per piece).
  kLlama3,
};

// The pattern whose regex source (as written in tokenizer.json) is `regex`. InvalidArgument
// quoting the regex if it is none of the above.
absl::StatusOr<SplitPattern> SplitPatternFromRegex(absl::string_view regex);

// Splits valid UTF-8 `text` into consecutive non-empty pieces that concatenate to `text`.
// InvalidArgument (with the byte offset) if `text` is not valid UTF-8.
absl::StatusOr<std::vector<absl::string_view>> SplitPieces(absl::string_view text,
                                                           SplitPattern pattern);

// The GPT-2 ByteLevel mapping: every byte value maps to a printable code point (printable
// Latin-1 bytes map to themselves, the others to U+0100 + n).
class ByteLevelMap {
 public:
  ByteLevelMap();
  char32_t ByteToChar(uint8_t b) const { return byte_to_char_[b]; }
  // The byte a mapped character stands for, or -1 if `c` is not one of the 256 mapped chars.
  int CharToByte(char32_t c) const { return c < char_to_byte_.size() ? char_to_byte_[c] : -1; }
  // UTF-8 of the mapped characters of `bytes` (how tokenizer.json writes a token).
  std::string Encode(absl::string_view bytes) const;
  // The raw bytes a token string of tokenizer.json stands for. Characters that are not mapped
  // chars are kept as their UTF-8 bytes. InvalidArgument if `token` is not valid UTF-8.
  absl::StatusOr<std::string> Decode(absl::string_view token) const;

 private:
  std::array<char32_t, 256> byte_to_char_;
  std::array<int16_t, 324> char_to_byte_;  // mapped chars are < U+0144
};

}  // namespace r1

#endif  // R1_MODEL_TOKENIZERS_PRE_TOKENIZER_H_
