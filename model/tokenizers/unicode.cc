// UTF-8 decoding/validation, character classes and normalization (ICU) for the tokenizers.
#include "model/tokenizers/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>
#include <unicode/utypes.h>

#include "absl/strings/str_cat.h"

namespace r1 {
namespace {

// Decodes at `pos`: returns the full sequence length if valid (and sets *cp), else 0; `*consumed`
// is the length of the maximal subpart examined (>= 1), i.e. what one U+FFFD replaces.
size_t DecodeOrSubpart(absl::string_view text, size_t pos, char32_t* cp, size_t* consumed) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t b0 = byte(pos);
  *consumed = 1;
  if (b0 < 0x80) {
    if (cp) *cp = b0;
    return 1;
  }
  size_t len;
  uint8_t lo = 0x80, hi = 0xBF;  // valid range of the second byte
  char32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 or F5..FF
  }
  for (size_t i = 1; i < len; ++i) {
    if (pos + i >= text.size()) return 0;
    const uint8_t b = byte(pos + i);
    const uint8_t min = i == 1 ? lo : 0x80;
    const uint8_t max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return 0;
    value = (value << 6) | (b & 0x3F);
    *consumed = i + 1;
  }
  if (cp) *cp = value;
  return len;
}

const icu::Normalizer2* GetNormalizer(NormalizationForm form, UErrorCode* err) {
  switch (form) {
    case NormalizationForm::kNfc:
      return icu::Normalizer2::getNFCInstance(*err);
    case NormalizationForm::kNfd:
      return icu::Normalizer2::getNFDInstance(*err);
    case NormalizationForm::kNfkc:
      return icu::Normalizer2::getNFKCInstance(*err);
    case NormalizationForm::kNfkd:
      return icu::Normalizer2::getNFKDInstance(*err);
  }
  return nullptr;
}

}  // namespace

size_t DecodeUtf8At(absl::string_view text, size_t pos, char32_t* code_point) {
  size_t consumed;
  return DecodeOrSubpart(text, pos, code_point, &consumed);
}

absl::Status ValidateUtf8(absl::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII fast path.
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const size_t len = DecodeUtf8At(text, pos, nullptr);
    if (len == 0)
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte offset ", pos));
    pos += len;
  }
  return absl::OkStatus();
}

absl::StatusOr<DecodedUtf8> DecodeUtf8(absl::string_view text) {
  DecodedUtf8 out;
  out.code_points.reserve(text.size());
  out.starts.reserve(text.size() + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    const size_t len = DecodeUtf8At(text, pos, &cp);
    if (len == 0)
      return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte offset ", pos));
    out.code_points.push_back(cp);
    out.starts.push_back(static_cast<uint32_t>(pos));
    pos += len;
  }
  out.starts.push_back(static_cast<uint32_t>(text.size()));
  return out;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string ReplaceInvalidUtf8(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t consumed;
    const size_t len = DecodeOrSubpart(bytes, pos, nullptr, &consumed);
    if (len > 0) {
      out.append(bytes.data() + pos, len);
      pos += len;
    } else {
      out.append("\xEF\xBF\xBD");
      pos += consumed;
    }
  }
  return out;
}

bool IsLetter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0;
}

bool IsNumber(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool IsWhitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r');
  return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
}

absl::StatusOr<std::string> Normalize(absl::string_view text, NormalizationForm form) {
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = GetNormalizer(form, &err);
  if (U_FAILURE(err) || normalizer == nullptr) {
    return absl::InternalError(absl::StrCat("ICU normalizer unavailable: ", u_errorName(err)));
  }
  absl::Status valid = ValidateUtf8(text);
  if (!valid.ok()) return valid;
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  // Most text is already normalized: check first.
  const UBool normalized = normalizer->isNormalizedUTF8(piece, err);
  if (U_FAILURE(err)) {
    return absl::InternalError(absl::StrCat("ICU normalization failed: ", u_errorName(err)));
  }
  if (normalized) return std::string(text);
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  normalizer->normalizeUTF8(0, piece, sink, nullptr, err);
  if (U_FAILURE(err)) {
    return absl::InternalError(absl::StrCat("ICU normalization failed: ", u_errorName(err)));
  }
  return out;
}

}  // namespace r1
