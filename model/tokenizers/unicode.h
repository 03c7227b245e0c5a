// UTF-8 and Unicode helpers for the tokenizers: strict UTF-8 decoding with byte offsets, the
// character classes the pre-tokenizer regexes use (\p{L}, \p{N}, \s), and normalization (ICU).
#ifndef R1_MODEL_TOKENIZERS_UNICODE_H_
#define R1_MODEL_TOKENIZERS_UNICODE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace r1 {

// Length in bytes of the valid UTF-8 sequence starting at `text[pos]`, or 0 if the bytes there
// are not one (truncated, overlong, a surrogate, above U+10FFFF, a stray continuation byte).
// `*code_point` (may be null) receives the decoded value. Requires pos < text.size().
size_t DecodeUtf8At(absl::string_view text, size_t pos, char32_t* code_point);

// OK if `text` is valid UTF-8; InvalidArgument "invalid UTF-8 at byte offset N" otherwise.
absl::Status ValidateUtf8(absl::string_view text);

// Code points of valid UTF-8 `text`, and where each one starts: `starts` has one more entry than
// `code_points`, the last being text.size(). InvalidArgument as ValidateUtf8 otherwise.
struct DecodedUtf8 {
  std::vector<char32_t> code_points;
  std::vector<uint32_t> starts;
};
absl::StatusOr<DecodedUtf8> DecodeUtf8(absl::string_view text);

// Appends the UTF-8 encoding of `code_point` (must be <= U+10FFFF and not a surrogate).
void AppendUtf8(char32_t code_point, std::string* out);

// `bytes` with every maximal invalid subsequence replaced by U+FFFD (the WHATWG/Unicode
// "substitution of maximal subparts" practice).
std::string ReplaceInvalidUtf8(absl::string_view bytes);

// Unicode character classes as the Hugging Face (Oniguruma) regexes see them.
bool IsLetter(char32_t c);      // \p{L}: general category Lu, Ll, Lt, Lm, Lo
bool IsNumber(char32_t c);      // \p{N}: general category Nd, Nl, No
bool IsWhitespace(char32_t c);  // \s: the White_Space property (includes \t \n \v \f \r, NBSP)

// Unicode normalization forms supported by the Hugging Face normalizers we read.
enum class NormalizationForm { kNfc, kNfd, kNfkc, kNfkd };

// `text` (valid UTF-8) in the given normalization form. Internal if ICU fails (it names the ICU
// error); InvalidArgument if `text` is not valid UTF-8.
absl::StatusOr<std::string> Normalize(absl::string_view text, NormalizationForm form);

}  // namespace r1

#endif  // R1_MODEL_TOKENIZERS_UNICODE_H_
